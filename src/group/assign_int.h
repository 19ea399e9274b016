/* Internal to src/group/assign*.c: the problem every assignor works on.
 *
 * The front ends (assign_client.c for the classic assignors, assign_server.c for KIP-848)
 * turn their input into this shape: members numbered 0..n_members-1 in the order the
 * algorithm sorts them (by id), topics 0..n_topics-1 in name order, and every partition of
 * every topic numbered globally (topic t's partition k is tbase[t] + k). The algorithms fill
 * owner[] and know nothing about names, ids or the wire. All memory is one scratch arena. */
#ifndef KWI_GROUP_ASSIGN_INT_H
#define KWI_GROUP_ASSIGN_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "kwire/proto.h"

/* More partitions than this in one assignment is KW_ERR_TOO_LARGE: it keeps every int32
 * computation (sums, products of counts) far from overflow. */
#define KWI_ASG_MAX_PARTS (1 << 30)

/* cl_own values besides a member index. */
#define KWI_ASG_NONE  (-1) /* nobody claims the partition */
#define KWI_ASG_MULTI (-2) /* several members claim it at the same (highest) generation */

typedef struct kwi_asg {
    kw_arena scratch;
    int32_t n_members;
    int32_t n_topics;
    int32_t n_parts;
    int32_t *tbase;  /* n_topics + 1 entries: first global index of each topic, then n_parts */
    int32_t *ptopic; /* n_parts: the topic of each partition */
    int32_t **msubs; /* per member: the topics it subscribes to that have partitions, ascending */
    int32_t *n_msubs;
    int32_t **tsubs; /* per topic: its subscribers, ascending */
    int32_t *n_tsubs;
    int32_t *prev;   /* n_parts: the owner to stick to (eligible, uncontested), or -1 */
    int32_t *owner;  /* n_parts: the result, or -1 */
    int32_t *cl_gen; /* n_parts: highest generation claiming the partition (claims only) */
    int32_t *cl_own; /* n_parts: its claimant, KWI_ASG_NONE or KWI_ASG_MULTI (claims only) */
    /* Racks (KIP-881), interned as 0..n_racks-1; NULL when nobody has one. */
    int32_t n_racks;
    int32_t *mrack; /* n_members: the member's rack, or -1 */
    int32_t *proff; /* n_parts + 1 offsets into prack */
    int32_t *prack; /* each partition's replica racks, ascending and unique */
} kwi_asg;

/* Sets up members and topics (counts[t] partitions each, all >= 0, summing to at most
 * KWI_ASG_MAX_PARTS: the front end checks). prev[] and owner[] start at -1. On failure
 * everything is released. */
kw_err kwi_asg_init(kwi_asg *g, const kw_allocator *a, int32_t n_members, int32_t n_topics,
                    const int32_t *counts);
void kwi_asg_fini(kwi_asg *g);

/* Zeroed scratch memory for n elements of sz bytes, or NULL. */
void *kwi_asg_alloc(kwi_asg *g, size_t n, size_t sz);

/* Gives member m its subscription: `topics` (n entries, from kwi_asg_alloc, taken over) is
 * sorted and deduplicated in place; topics without partitions are dropped. */
void kwi_asg_set_subs(kwi_asg *g, int32_t m, int32_t *topics, int32_t n);

/* Builds tsubs from every member's subscription. Call after the last kwi_asg_set_subs. */
kw_err kwi_asg_index_subs(kwi_asg *g);

/* Position of topic t in member m's subscription, or -1 if m does not subscribe to it. */
int32_t kwi_asg_slot(const kwi_asg *g, int32_t m, int32_t t);

/* Ownership claims (cooperative-sticky OwnedPartitions with generations; KIP-848 current
 * assignments with one generation). claims_begin allocates cl_gen/cl_own; each claim records
 * (member, generation) for a partition, the highest generation winning and a tie between two
 * members making it KWI_ASG_MULTI; claims_end sets prev[p] to the single winner when that
 * member still subscribes to the topic. */
kw_err kwi_asg_claims_begin(kwi_asg *g);
void kwi_asg_claim(kwi_asg *g, int32_t m, int32_t p, int32_t generation);
void kwi_asg_claims_end(kwi_asg *g);

/* KIP-429's second phase: clears owner[p] wherever a member other than the new owner still
 * claims p (a different single winner, or KWI_ASG_MULTI). Returns how many were held back. */
int32_t kwi_asg_withhold(kwi_asg *g);

/* Groups the result by member: member m's partitions (global indices, ascending) are
 * list[start[m] .. start[m+1]-1]. Both arrays come from the scratch arena. */
kw_err kwi_asg_by_member(kwi_asg *g, int32_t **start, int32_t **list);

/* The algorithms. Each reads prev[] (where it is sticky) and writes owner[]. */
kw_err kwi_asg_sticky(kwi_asg *g);       /* assign_sticky.c: balanced and sticky */
void kwi_asg_range(kwi_asg *g);          /* assign_range.c: classic range */
kw_err kwi_asg_range_sticky(kwi_asg *g); /* assign_range.c: KIP-848 server range */
void kwi_asg_roundrobin(kwi_asg *g);     /* assign_range.c: classic roundrobin */
kw_err kwi_asg_range_racks(kwi_asg *g);  /* assign_range.c: classic range, KIP-881 racks */

/* Byte-wise order of two slices (a null slice sorts like an empty one). For ASCII and for
 * UTF-8 below U+E000 this is the order of Java's String.compareTo. */
int kwi_asg_slice_cmp(kw_slice a, kw_slice b);

#endif
