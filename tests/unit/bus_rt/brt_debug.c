/* A diagnostic for the bus tests: when a wait times out, print what the bus and its consumer
 * know (statistics, assignment with positions), so a failure in CI says where it stopped.
 * Reads the runtime's internals (bus_rt.h) on purpose: only tests do this. */
#include <stdio.h>

#include "bus/bus_rt.h"

void brt_dump(kw_bus *bus);

void
brt_dump(kw_bus *bus)
{
    kw_bus_stats st;
    kw_bus_get_stats(bus, &st);
    fprintf(stderr,
            "bus: consumed %llu ok %llu failed %llu dlq %llu dlq errors %llu retried %llu "
            "rebalances %llu tracked %zu\n",
            (unsigned long long)st.events_consumed, (unsigned long long)st.events_processed_success,
            (unsigned long long)st.events_processed_failed,
            (unsigned long long)st.messages_sent_to_dlq, (unsigned long long)st.dlq_write_errors,
            (unsigned long long)st.events_retried, (unsigned long long)st.rebalance_count,
            bus->track.n);
    for (size_t i = 0; i < bus->track.n; i++) {
        const kwi_ptrack *p = &bus->track.p[i];
        fprintf(stderr,
                "  track [%d] next %lld committed %lld pending %zu writes %d paused %d retry "
                "%lld\n",
                (int)p->partition, (long long)p->next, (long long)p->committed, p->n_pending,
                (int)p->writes, (int)p->paused, (long long)p->retry_offset);
    }
    for (const kwi_bus_wrec *w = bus->waiting; w; w = w->next)
        fprintf(stderr, "  waiting write [%d] offset %lld failures %d\n", (int)w->partition,
                (long long)w->offset, (int)w->failures);
    if (!bus->cons)
        return;
    kw_consumer_stats cs;
    kw_consumer_stats_get(bus->cons, &cs);
    fprintf(stderr, "consumer: assigned %zu fetches %llu records %llu buffered %zu gen %d\n",
            cs.assigned, (unsigned long long)cs.fetch_requests, (unsigned long long)cs.records,
            cs.buffered_msgs, (int)kw_consumer_generation(bus->cons));
    kw_partition_list l;
    if (kw_consumer_assignment(bus->cons, &l, NULL) != KW_ERR_OK)
        return;
    for (size_t i = 0; i < l.n; i++)
        fprintf(stderr, "  %s[%d] position %lld\n", l.items[i].topic, (int)l.items[i].partition,
                (long long)l.items[i].offset);
    kw_partition_list_free(&l);
}
