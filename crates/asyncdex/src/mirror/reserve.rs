//! The reserve: the last quarter of the answer budget is kept for peers that hold little.
//!
//! Fair shares (the `share` module) stop one peer from holding the whole budget, but not
//! many peers together: with a share of 1/8, eight addresses that ask and never read hold
//! all of it. Thirty-six loopback peers, each with a hundred zero-window HTTP/2 streams of
//! a 75 KB list page (7.4 MB each, far under its share), held 256 MiB for the whole send
//! timeout, and a newcomer's `pokemon/N` was answered `503` sixteen times in twenty; the
//! attackers can renew that every minute.
//!
//! So a charge may take the budget's last [`KEPT`] only if its peer, the charge counted,
//! then holds at most [`LIGHT`] of it (2 MiB of the default 256 MiB: PokeAPI's largest
//! resource and the answer made from it, or a thousand small ones). A peer holding more
//! (a stalled reader holding its unread answers, or a busy honest one) has the rest of the
//! budget, as before; once that is full its requests are `503` while a peer that holds
//! little, such as a new one, is still answered. To spend the reserve too, an attacker
//! needs 32 more addresses that each hold no more than 2 MiB, where eight did it all
//! before; and whatever holds it must keep reading or lose it at the send timeout (the
//! `progress` module). With it, the same 36 peers hold 224 MB, and the newcomer is
//! answered 20 times in 20 (BENCHMARKS.md, Session 7).
//!
//! Why this rule, and not another:
//!
//! - **A slice for small answers** (answers under a size may use the whole budget) fails as
//!   soon as the attackers ask for small answers: a hundred streams of `pokemon/N` each is
//!   as good a stall as a hundred list pages. The rule here looks at what the *peer*
//!   holds, which is what an attacker has to build up, and what an honest newcomer has not.
//! - **Shares that shrink as more peers hold** (budget / 2 × holders) give back nothing
//!   already held: peers that arrive one after another each take the share of their
//!   moment, and twelve fill the budget.
//! - **Dropping stalled connections sooner under pressure** frees the budget a few
//!   seconds earlier, but a renewing attacker fills it again within milliseconds of each
//!   drop.
//!
//! The reserve is kept only where there are other peers to keep it for: the embedded
//! mirror's one peer is its own client, which may hold the whole budget
//! ([`ServeLimits::sharing_process`](super::ServeLimits::sharing_process)), so it keeps none.

use super::ServeLimits;

/// The fraction of the budget kept for peers that hold little: a quarter.
pub(super) const KEPT: usize = 4;

/// The fraction of the budget a peer may hold and still be *light*: 1/128.
pub(super) const LIGHT: usize = 128;

/// How much of the budget is kept, and for whom.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Reserve {
    /// Bytes at the top of the budget only light peers may take.
    pub(super) kept: usize,
    /// Most bytes a peer may hold, the new charge counted, to take from what is kept.
    pub(super) light: usize,
}

impl Reserve {
    /// Nothing kept: every charge may take the whole budget.
    pub(super) const NONE: Reserve = Reserve { kept: 0, light: 0 };

    /// The reserve a server held to `limits` keeps: a [`KEPT`] of its budget for peers
    /// holding at most a [`LIGHT`] of it, unless one peer may hold the whole budget.
    pub(super) fn for_limits(limits: &ServeLimits) -> Reserve {
        let budget = limits.answer_budget;
        if limits.peer_share >= budget {
            return Reserve::NONE;
        }
        Reserve {
            kept: budget / KEPT,
            light: budget / LIGHT,
        }
    }

    /// Whether a charge that brings the server to `total` bytes of its `limit`, and the
    /// charge's peer to `peer` bytes, fits.
    pub(super) fn fits(&self, limit: usize, total: usize, peer: usize) -> bool {
        total <= limit.saturating_sub(self.kept) || (total <= limit && peer <= self.light)
    }
}

#[cfg(test)]
mod tests {
    use std::net::IpAddr;
    use std::sync::Arc;

    use super::super::budget::Budget;
    use super::super::conns::Conns;
    use super::super::share::paid_by;
    use super::*;

    const MIB: usize = 1 << 20;

    fn default_reserve() -> Reserve {
        Reserve::for_limits(&ServeLimits::default())
    }

    #[test]
    fn a_heavy_peer_has_three_quarters_of_the_budget_a_light_one_all_of_it() {
        let reserve = default_reserve();
        assert_eq!(
            reserve,
            Reserve {
                kept: 64 * MIB,
                light: 2 * MIB
            }
        );
        let limit = 256 * MIB;
        assert!(
            reserve.fits(limit, 192 * MIB, 30 * MIB),
            "under 3/4: anyone"
        );
        assert!(
            !reserve.fits(limit, 192 * MIB + 1, 30 * MIB),
            "the rest is kept"
        );
        assert!(
            reserve.fits(limit, 256 * MIB, 2 * MIB),
            "kept for the light"
        );
        assert!(
            !reserve.fits(limit, 200 * MIB, 2 * MIB + 1),
            "a byte too heavy"
        );
        assert!(!reserve.fits(limit, limit + 1, 0), "never past the budget");
    }

    /// A server's budget of `limit`, and the connections' registry, with shares as the
    /// defaults make them (1/16 per connection, 1/8 per peer).
    fn server(limit: usize) -> (Budget, Arc<Conns>, ServeLimits) {
        let limits = ServeLimits {
            answer_budget: limit,
            connection_share: limit / 16,
            peer_share: limit / 8,
            ..ServeLimits::default()
        };
        (Budget::new(limit), Arc::new(Conns::default()), limits)
    }

    #[test]
    fn a_new_peers_small_answer_has_room_while_many_peers_hold_large_ones() {
        // The hostile pass at 1/20 scale: 36 peers, 100 answers of 3 750 bytes each, none
        // read; a budget of 12.8 MB, so 100 KB is light.
        let (budget, conns, limits) = server(12_800_000);
        let (mut held, mut peers) = (Vec::new(), Vec::new());
        let mut refused = 0;
        for n in 0..36u8 {
            let (conn, registered) = conns.add(IpAddr::from([127, 0, 0, 10 + n]), &limits);
            for _ in 0..100 {
                match paid_by(&conn.payer, || budget.reserve(3_750)) {
                    Some(charge) => held.push(charge),
                    None => refused += 1,
                }
            }
            peers.push(registered); // the peer stays, its answers unread
        }
        let charged = budget.charged();
        assert!(refused > 0, "the peers asked for more than the budget");
        let past = charged.saturating_sub(12_800_000 * 3 / 4);
        assert!(past > 0, "the first three quarters are all held: {charged}");
        assert!(
            past <= 10 * 100_000,
            "of the rest, the ten peers that came after them hold a light share each: {past}"
        );
        let (heavy, _r) = conns.add(IpAddr::from([127, 0, 0, 10]), &limits);
        assert!(
            paid_by(&heavy.payer, || budget.reserve(3_750)).is_none(),
            "a peer that holds its answers unread has no more room"
        );
        let (new, _r) = conns.add(IpAddr::from([127, 0, 0, 1]), &limits);
        let small: Vec<_> = (0..20)
            .map(|_| paid_by(&new.payer, || budget.reserve(4_000)))
            .collect();
        assert!(
            small.iter().all(Option::is_some),
            "a new peer's small answers all have room"
        );
        let others: Vec<_> = (0..20u8)
            .map(|n| {
                let (conn, r) = conns.add(IpAddr::from([127, 0, 1, n]), &limits);
                (paid_by(&conn.payer, || budget.reserve(90_000)), r)
            })
            .collect();
        assert!(
            others.iter().all(|(charge, _)| charge.is_some()),
            "and twenty other newcomers' largest light answers too"
        );
        assert!(budget.charged() <= 12_800_000, "never past the budget");
    }

    #[test]
    fn a_server_whose_one_peer_may_hold_all_keeps_nothing() {
        let reserve = Reserve::for_limits(&ServeLimits::sharing_process());
        assert_eq!(reserve, Reserve::NONE);
        assert!(reserve.fits(100, 100, 100));
        assert!(!reserve.fits(100, 101, 0));
    }
}
