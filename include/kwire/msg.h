/* kwire: message structures of every API kwire codes, one header per API family.
 * Field names are the schema's in snake_case; each flexible-capable structure ends with
 * `unknown_tags` (unknown tagged fields, kept for exact round trips). Each kw_msg_* object
 * describes one message for kw_msg_decode / kw_msg_encode / kw_msg_dump. */
#ifndef KWIRE_MSG_H
#define KWIRE_MSG_H

#include "msg_meta.h"
#include "msg_produce.h"
#include "msg_fetch.h"
#include "msg_group.h"
#include "msg_offsets.h"
#include "msg_txn.h"
#include "msg_admin.h"
#include "msg_kip848.h"

#endif
