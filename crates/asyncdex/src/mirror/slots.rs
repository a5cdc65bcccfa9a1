//! Connection slots shared out fairly: who waits for one, who gets the next, and whose
//! connection makes room.
//!
//! A server caps its open connections to keep descriptors for everything else (the
//! `serve` module). At the cap, a cap alone is first come, first served, and a client that
//! opens thousands of connections, each with a half-sent header or a pile of answers it
//! never reads, holds every slot: the newcomer from another address waits in the kernel's
//! queue behind the hostile client's own queued connections, and is not answered for as
//! long as the flood lasts. nginx answers that with a per-address limit (`limit_conn`);
//! here the slots are shared out by *peer* (client IP address), as the answer budget is
//! (the `share` module):
//!
//! - **A short waiting room.** At the cap the accept loop keeps accepting: up to a
//!   thirty-second of the cap ([`WaitingRoom::for_cap`]) wait there for a slot, and each asks for room to be
//!   made. So the loop always reaches the newcomer, however many connections are queued
//!   ahead of it.
//! - **The fewest first.** A freed slot goes to the waiting connection whose peer holds
//!   the fewest slots ([`WaitingRoom::next`]); a full room takes a newcomer in place of a
//!   waiting connection of a peer with more, and closes the newcomer otherwise: a peer
//!   that holds the most slots, and fills the room too, is turned away at once, so its
//!   queue drains in microseconds instead of holding up everyone behind it.
//! - **The most makes room.** The connection asked to close ([`victim`]) belongs to the
//!   peer holding the most slots, when that is more than the newcomer's peer would hold:
//!   it is closed at once, even busy, since that peer holds more than its share against
//!   one that wants in. Otherwise the connection idle longest closes gracefully (idle
//!   clients reconnect; waiting ones cannot be answered otherwise), and if every one is
//!   busy, the newcomer waits for one to end.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;

/// What [`victim`] knows of one open connection (one not already closing).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Holder {
    /// Its key in the server's table of open connections.
    pub(super) id: u64,
    /// Its client's address.
    pub(super) peer: IpAddr,
    /// Whether a request is in progress on it.
    pub(super) busy: bool,
    /// When it last went idle, on the server's clock: smaller is idle longer.
    pub(super) idle_since: u64,
}

/// How a connection is asked to close.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Close {
    /// It finishes what is in progress first (at most a second).
    Gracefully,
    /// Now: its peer holds more than its share of the slots.
    AtOnce,
}

/// The connection that makes room for a newcomer from `newcomer` (`None`: the room is for
/// the server itself, a descriptor), and how it closes; `None` if every connection is busy
/// and no peer holds more than its share.
pub(super) fn victim(open: &[Holder], newcomer: Option<IpAddr>) -> Option<(u64, Close)> {
    let mut held: HashMap<IpAddr, usize> = HashMap::new();
    for h in open {
        *held.entry(h.peer).or_default() += 1;
    }
    let mine = newcomer.map_or(0, |ip| held.get(&ip).copied().unwrap_or(0));
    let most = held
        .iter()
        .filter(|(ip, _)| Some(**ip) != newcomer)
        .max_by_key(|(_, n)| **n)
        .map(|(ip, n)| (*ip, *n));
    if let (Some(_), Some((hog, n))) = (newcomer, most) {
        if n > mine + 1 {
            // Its idlest connection, or else the one busy longest.
            return open
                .iter()
                .filter(|h| h.peer == hog)
                .min_by_key(|h| (h.busy, h.idle_since))
                .map(|h| (h.id, Close::AtOnce));
        }
    }
    open.iter()
        .filter(|h| !h.busy)
        .min_by_key(|h| h.idle_since)
        .map(|h| (h.id, Close::Gracefully))
}

/// Accepted connections waiting for a slot, with their peers.
#[derive(Debug)]
pub(super) struct WaitingRoom<T> {
    waiting: VecDeque<(T, IpAddr)>,
    size: usize,
}

/// What [`WaitingRoom::admit`] did with a newcomer.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Admitted<T> {
    /// It waits, and nobody was turned away.
    Waits,
    /// It waits in place of this one, of a peer that holds more.
    WaitsInstead(T),
    /// The room is full of peers that hold no more than its own: it is turned away.
    TurnedAway(T),
}

impl<T> WaitingRoom<T> {
    /// A room for the connections a server with `cap` slots lets wait: a thirty-second of
    /// the cap, at least 2 and at most 32, so waiting connections never take more than a
    /// few of the descriptors the cap keeps for everything else.
    pub(super) fn for_cap(cap: usize) -> WaitingRoom<T> {
        WaitingRoom {
            waiting: VecDeque::new(),
            size: (cap / 32).clamp(2, 32),
        }
    }

    /// How many connections may wait.
    #[cfg(test)]
    fn size(&self) -> usize {
        self.size
    }

    /// How many are waiting.
    pub(super) fn len(&self) -> usize {
        self.waiting.len()
    }

    /// Whether none is waiting.
    pub(super) fn is_empty(&self) -> bool {
        self.waiting.is_empty()
    }

    /// Lets `conn` from `peer` wait, if there is room, or room can be made by turning away
    /// a waiting connection of a peer that holds (`held`: its slots and its waiting
    /// connections) more than `peer` would.
    pub(super) fn admit(
        &mut self,
        conn: T,
        peer: IpAddr,
        held: impl Fn(IpAddr) -> usize,
    ) -> Admitted<T> {
        if self.waiting.len() < self.size {
            self.waiting.push_back((conn, peer));
            return Admitted::Waits;
        }
        let count = |ip: IpAddr| held(ip) + self.waiting.iter().filter(|w| w.1 == ip).count();
        let mine = count(peer) + 1;
        // The newest waiting connection of the peer holding the most (`max_by_key` keeps
        // the last of equals).
        let most = (0..self.waiting.len()).max_by_key(|&i| count(self.waiting[i].1));
        match most {
            Some(i) if count(self.waiting[i].1) > mine => {
                let (out, _) = self.waiting.remove(i).expect("in range");
                self.waiting.push_back((conn, peer));
                Admitted::WaitsInstead(out)
            }
            _ => Admitted::TurnedAway(conn),
        }
    }

    /// The connection a freed slot goes to: the one whose peer holds the fewest slots
    /// (`held`), the earliest of those.
    pub(super) fn next(&mut self, held: impl Fn(IpAddr) -> usize) -> Option<(T, IpAddr)> {
        let i = self.fewest(held)?;
        self.waiting.remove(i)
    }

    /// The peer of the connection [`next`](Self::next) would take.
    pub(super) fn next_peer(&self, held: impl Fn(IpAddr) -> usize) -> Option<IpAddr> {
        self.fewest(held).map(|i| self.waiting[i].1)
    }

    fn fewest(&self, held: impl Fn(IpAddr) -> usize) -> Option<usize> {
        (0..self.waiting.len()).min_by_key(|&i| held(self.waiting[i].1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(n: u8) -> IpAddr {
        IpAddr::from([127, 0, 0, n])
    }

    fn holder(id: u64, peer: u8, busy: bool, idle_since: u64) -> Holder {
        Holder {
            id,
            peer: ip(peer),
            busy,
            idle_since,
        }
    }

    #[test]
    fn the_peer_holding_the_most_makes_room_at_once_even_busy() {
        // Peer 6 holds three busy slots, peer 7 one; a newcomer from 7.
        let open = [
            holder(1, 6, true, 5),
            holder(2, 6, true, 3),
            holder(3, 6, true, 9),
            holder(4, 7, false, 0),
        ];
        assert_eq!(victim(&open, Some(ip(7))), Some((2, Close::AtOnce)));
        // An idle one of the hog goes before its busy ones.
        let mut open = open.to_vec();
        open[2].busy = false;
        assert_eq!(victim(&open, Some(ip(7))), Some((3, Close::AtOnce)));
    }

    #[test]
    fn a_peer_not_over_its_share_keeps_its_busy_connections() {
        // 6 holds two, the newcomer's peer 7 one: after it, both hold two.
        let open = [
            holder(1, 6, true, 1),
            holder(2, 6, true, 2),
            holder(3, 7, true, 0),
        ];
        assert_eq!(victim(&open, Some(ip(7))), None, "every one is busy");
        // The newcomer's own peer holds the most: the idlest of all closes gracefully.
        let open = [
            holder(1, 7, false, 8),
            holder(2, 7, true, 1),
            holder(3, 6, false, 4),
        ];
        assert_eq!(victim(&open, Some(ip(7))), Some((3, Close::Gracefully)));
        assert_eq!(victim(&open, None), Some((3, Close::Gracefully)));
        assert_eq!(victim(&[], Some(ip(7))), None);
    }

    #[test]
    fn a_full_room_takes_the_newcomer_of_a_peer_holding_fewer() {
        let held = |peer: IpAddr| if peer == ip(6) { 100 } else { 0 };
        let mut room = WaitingRoom::for_cap(0);
        assert_eq!(room.size(), 2);
        assert_eq!(room.admit("a", ip(6), held), Admitted::Waits);
        assert_eq!(room.admit("b", ip(6), held), Admitted::Waits);
        // Full of the peer holding a hundred slots: its next is turned away at once...
        assert_eq!(room.admit("c", ip(6), held), Admitted::TurnedAway("c"));
        // ...and a newcomer from another takes the place of its newest waiting one.
        assert_eq!(room.admit("d", ip(7), held), Admitted::WaitsInstead("b"));
        assert_eq!(room.len(), 2);
        // The first slot freed goes to the peer holding fewer, though it came later.
        assert_eq!(room.next_peer(held), Some(ip(7)));
        assert_eq!(room.next(held), Some(("d", ip(7))));
        assert_eq!(room.next(held), Some(("a", ip(6))));
        assert!(room.is_empty());
        assert_eq!(room.next(held), None);
    }

    #[test]
    fn a_full_room_of_peers_holding_as_few_turns_the_newcomer_away() {
        let held = |_| 1;
        let mut room = WaitingRoom::for_cap(64);
        assert_eq!(room.size(), 2);
        assert_eq!(room.admit(1, ip(6), held), Admitted::Waits);
        assert_eq!(room.admit(2, ip(7), held), Admitted::Waits);
        assert_eq!(room.admit(3, ip(8), held), Admitted::TurnedAway(3));
        assert_eq!(WaitingRoom::<()>::for_cap(100_000).size(), 32);
    }
}
