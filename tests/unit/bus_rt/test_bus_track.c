/* The runtime's offset tracker: a commit never passes an unfinished event, retries are
 * remembered per partition, partitions come and go. */
#include <check.h>

#include "bus/bus_track.h"

START_TEST(commit_position_is_contiguous)
{
    kwi_track t;
    kwi_track_init(&t, NULL);
    kwi_ptrack *p = kwi_track_add(&t, 3);
    ck_assert_ptr_nonnull(p);
    ck_assert_int_eq(kwi_ptrack_commit_pos(p), -1);
    ck_assert(!kwi_ptrack_need_commit(p));
    kwi_ptrack_done(p, 10);
    ck_assert_int_eq(kwi_ptrack_commit_pos(p), 11);
    ck_assert(kwi_ptrack_need_commit(p));
    /* 11 waits for its DLQ write; 12 and 13 finish: the commit stays at 11. */
    ck_assert_int_eq(kwi_ptrack_pend(p, t.a, 11), KW_ERR_OK);
    kwi_ptrack_done(p, 12);
    ck_assert_int_eq(kwi_ptrack_pend(p, t.a, 13), KW_ERR_OK);
    kwi_ptrack_done(p, 14);
    ck_assert_int_eq(kwi_ptrack_commit_pos(p), 11);
    p->committed = 11;
    ck_assert(!kwi_ptrack_need_commit(p));
    /* 13's write is acknowledged first: still 11. */
    ck_assert(kwi_ptrack_unpend(p, 13));
    ck_assert_int_eq(kwi_ptrack_commit_pos(p), 11);
    ck_assert(kwi_ptrack_unpend(p, 11));
    ck_assert_int_eq(kwi_ptrack_commit_pos(p), 15);
    ck_assert(kwi_ptrack_need_commit(p));
    ck_assert(!kwi_ptrack_unpend(p, 11));
    /* A redelivered older offset never moves the position back. */
    kwi_ptrack_done(p, 5);
    ck_assert_int_eq(kwi_ptrack_commit_pos(p), 15);
    kwi_track_fini(&t);
}
END_TEST

START_TEST(pending_out_of_order_and_duplicates)
{
    kwi_track t;
    kwi_track_init(&t, NULL);
    kwi_ptrack *p = kwi_track_add(&t, 0);
    for (int64_t o = 20; o >= 1; o--)
        ck_assert_int_eq(kwi_ptrack_pend(p, t.a, o), KW_ERR_OK);
    ck_assert_int_eq(kwi_ptrack_pend(p, t.a, 7), KW_ERR_OK); /* again: kept once */
    ck_assert_uint_eq(p->n_pending, 20);
    for (size_t i = 1; i < p->n_pending; i++)
        ck_assert_int_lt(p->pending[i - 1], p->pending[i]);
    ck_assert_int_eq(kwi_ptrack_commit_pos(p), 1);
    for (int64_t o = 1; o <= 20; o++) {
        ck_assert(kwi_ptrack_unpend(p, o));
        ck_assert_int_eq(kwi_ptrack_commit_pos(p), o < 20 ? o + 1 : 21);
    }
    kwi_track_fini(&t);
}
END_TEST

START_TEST(retry_state_and_due)
{
    kwi_track t;
    kwi_track_init(&t, NULL);
    kwi_ptrack *a = kwi_track_add(&t, 0);
    kwi_ptrack_retry_set(a, 42, 2, 1000);
    a->paused = true;
    kwi_ptrack *b = kwi_track_add(&t, 1);
    a = kwi_track_get(&t, 0); /* the array may have moved */
    kwi_ptrack_retry_set(b, 7, 1, 500);
    b->paused = true;
    ck_assert_int_eq(kwi_track_next_due(&t), 500);
    ck_assert_int_eq(kwi_ptrack_retries_of(a, 42), 2);
    ck_assert_int_eq(kwi_ptrack_retries_of(a, 43), 0);
    b->paused = false; /* resumed: no longer a timer */
    ck_assert_int_eq(kwi_track_next_due(&t), 1000);
    kwi_ptrack_retry_clear(a);
    ck_assert_int_eq(kwi_ptrack_retries_of(a, 42), 0);
    ck_assert_int_eq(kwi_track_next_due(&t), -1);
    kwi_track_fini(&t);
}
END_TEST

START_TEST(write_holds_and_generations)
{
    kwi_track t;
    kwi_track_init(&t, NULL);
    kwi_ptrack *p = kwi_track_add(&t, 4);
    uint64_t g1 = p->gen;
    /* Held by a DLQ write: no timer, and not resumable until the write is acknowledged. */
    p->paused = true;
    p->writes = 1;
    ck_assert(!kwi_ptrack_may_resume(p, 0));
    ck_assert_int_eq(kwi_track_next_due(&t), -1);
    p->writes = 0;
    ck_assert(kwi_ptrack_may_resume(p, 0));
    /* Held by a retry as well: resumable only once the retry is due. */
    kwi_ptrack_retry_set(p, 9, 1, 500);
    ck_assert(!kwi_ptrack_may_resume(p, 499));
    ck_assert(kwi_ptrack_may_resume(p, 500));
    p->writes = 1;
    ck_assert(!kwi_ptrack_may_resume(p, 500));
    ck_assert_int_eq(kwi_track_next_due(&t), -1);
    p->paused = false;
    ck_assert(!kwi_ptrack_may_resume(p, 500)); /* not paused: nothing to resume */
    /* Revoked and assigned again: a new generation, so late reports of the old one are
     * recognised. */
    kwi_track_remove(&t, 4);
    p = kwi_track_add(&t, 4);
    ck_assert_uint_ne(p->gen, g1);
    ck_assert_int_eq(p->writes, 0);
    ck_assert_uint_ne(kwi_track_add(&t, 5)->gen, kwi_track_get(&t, 4)->gen);
    kwi_track_fini(&t);
}
END_TEST

START_TEST(partitions_come_and_go)
{
    kwi_track t;
    kwi_track_init(&t, NULL);
    for (int32_t i = 0; i < 40; i++) {
        kwi_ptrack *p = kwi_track_add(&t, i);
        ck_assert_ptr_nonnull(p);
        kwi_ptrack_done(p, i * 10);
        ck_assert_int_eq(kwi_ptrack_pend(p, t.a, i * 10 + 1), KW_ERR_OK);
    }
    ck_assert_ptr_eq(kwi_track_add(&t, 5), kwi_track_get(&t, 5)); /* no duplicate */
    ck_assert_uint_eq(t.n, 40);
    for (int32_t i = 0; i < 40; i += 2)
        kwi_track_remove(&t, i);
    kwi_track_remove(&t, 1000); /* unknown: nothing */
    ck_assert_uint_eq(t.n, 20);
    for (int32_t i = 0; i < 40; i++) {
        kwi_ptrack *p = kwi_track_get(&t, i);
        if (i % 2 == 0) {
            ck_assert_ptr_null(p);
        } else {
            ck_assert_ptr_nonnull(p);
            ck_assert_int_eq(kwi_ptrack_commit_pos(p), i * 10 + 1);
        }
    }
    kwi_track_fini(&t); /* frees the pending arrays left (checked by ASan) */
}
END_TEST

Suite *
kw_test_suite(void)
{
    Suite *s = suite_create("bus_track");
    TCase *tc = tcase_create("track");
    tcase_add_test(tc, commit_position_is_contiguous);
    tcase_add_test(tc, pending_out_of_order_and_duplicates);
    tcase_add_test(tc, retry_state_and_due);
    tcase_add_test(tc, write_holds_and_generations);
    tcase_add_test(tc, partitions_come_and_go);
    suite_add_tcase(s, tc);
    return s;
}
