/* Leases in memory shared by processes: each is the time until which it is held, 0 when free,
 * changed only by atomic compare-and-swap. */
#include <apr_atomic.h>
#include <apr_strings.h>

#include "ipsie/ipsie_gate.h"

struct ipsie_gate_t {
    volatile apr_uint64_t *until; /* one per lease, in the shared memory */
    int leases;
    apr_uint32_t next; /* where the next search starts: spreads holders over the leases */
};

apr_size_t ipsie_gate_size(int leases)
{
    return sizeof(apr_uint64_t) * (apr_size_t)(leases > 0 ? leases : 1);
}

ipsie_gate_t *ipsie_gate_attach(void *memory, int leases, apr_pool_t *p)
{
    ipsie_gate_t *gate = apr_pcalloc(p, sizeof(*gate));

    gate->until = memory;
    gate->leases = leases > 0 ? leases : 1;
    return gate;
}

int ipsie_gate_enter(ipsie_gate_lease_t *lease, ipsie_gate_t *gate, apr_time_t now,
                     apr_interval_time_t hold)
{
    apr_uint64_t until = (apr_uint64_t)(now + (hold > 0 ? hold : 1));
    apr_uint32_t start = apr_atomic_inc32(&gate->next);
    int i;

    lease->slot = -1;
    lease->until = 0;
    for (i = 0; i < gate->leases; i++) {
        int slot = (int)((start + (apr_uint32_t)i) % (apr_uint32_t)gate->leases);
        apr_uint64_t held = apr_atomic_read64(&gate->until[slot]);

        /* Free, or held past its time by a holder that is gone. */
        if (held <= (apr_uint64_t)now
            && apr_atomic_cas64(&gate->until[slot], until, held) == held) {
            lease->slot = slot;
            lease->until = until;
            return 1;
        }
    }
    return 0;
}

void ipsie_gate_leave(ipsie_gate_t *gate, const ipsie_gate_lease_t *lease)
{
    if (lease->slot >= 0 && lease->slot < gate->leases) {
        apr_atomic_cas64(&gate->until[lease->slot], 0, lease->until);
    }
}

int ipsie_gate_leases(const ipsie_gate_t *gate)
{
    return gate->leases;
}
