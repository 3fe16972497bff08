/* A bound on how many workers of a whole server may wait for something slow at once (the
 * OpenID Provider), shared by every process of it: a fixed number of leases in memory that
 * all processes see (the glue puts it in shared memory made before the children start). A
 * lease its holder never returns, because its process was killed, expires on its own. */
#ifndef IPSIE_GATE_H
#define IPSIE_GATE_H

#include <apr_pools.h>
#include <apr_time.h>

typedef struct ipsie_gate_t ipsie_gate_t;

/* One lease taken: hand it back with ipsie_gate_leave. */
typedef struct {
    int slot;
    apr_uint64_t until;
} ipsie_gate_lease_t;

/* Bytes of memory a gate of n leases uses. */
apr_size_t ipsie_gate_size(int leases);

/* A gate of n leases (at least 1) kept in memory: ipsie_gate_size(n) bytes, zeroed, aligned
 * for 64-bit atomics; it may be shared between processes (every process attaches the same
 * memory). The handle comes from p. */
ipsie_gate_t *ipsie_gate_attach(void *memory, int leases, apr_pool_t *p);

/* Take a lease until now + hold: 1, or 0 when every lease is held and none has expired. */
int ipsie_gate_enter(ipsie_gate_lease_t *lease, ipsie_gate_t *gate, apr_time_t now,
                     apr_interval_time_t hold);

/* Hand a lease back; one that expired and was taken by another holder is left alone. */
void ipsie_gate_leave(ipsie_gate_t *gate, const ipsie_gate_lease_t *lease);

/* How many leases the gate has. */
int ipsie_gate_leases(const ipsie_gate_t *gate);

#endif
