//! A picture's bars, kept compact: a run of a million calls is a million bars, and a
//! `Vec<Bar>` (a label `String`, a `Vec` of retries, two `Duration`s: ~120 bytes a bar,
//! with the label's own allocation) would cost more than the run. [`Bars`] keeps each bar
//! in 25 bytes (its start and end in nanoseconds, where its label and retries end, its
//! status), every label in one `String` and every retry in one `Vec`, and hands bars out
//! one at a time ([`Bars::iter`]) to the writer drawing them.
//!
//! ```
//! use std::time::Duration;
//! use asyncdex_engine::gather::Status;
//! use crate::timeline::{Bar, Bars};
//!
//! let mut bars = Bars::default();
//! bars.push("id 25", Duration::ZERO, Duration::from_millis(90), &[], Status::Ok);
//! bars.push("id 4", Duration::ZERO, Duration::from_millis(100), &[Duration::from_millis(50)], Status::Failed);
//! assert_eq!(bars.len(), 2);
//! let second: Bar = bars.iter().nth(1).unwrap();
//! assert_eq!((second.label.as_str(), second.retries.len()), ("id 4", 1));
//! assert_eq!(bars.last_end(), Duration::from_millis(100));
//! ```

use std::time::Duration;

use asyncdex_engine::gather::Status;

/// One bar: a call or a step.
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    /// What it was (`"id 25"`, `"light: connect"`).
    pub label: String,
    /// When it started, from its group's start.
    pub start: Duration,
    /// When it ended.
    pub end: Duration,
    /// When each retry started (drawn as ticks).
    pub retries: Vec<Duration>,
    /// How it ended (the colour).
    pub status: Status,
}

/// Bars in a few dozen bytes each (see the module docs). Build with [`Bars::push`] or
/// `collect()` from [`Bar`]s.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Bars {
    slots: Vec<Slot>,
    status: Vec<Status>,
    labels: String,
    retries: Vec<u64>,
}

/// One bar: times in nanoseconds from its group's start; where its label and retries
/// end in [`Bars::labels`] and [`Bars::retries`] (each begins where the one before ends).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Slot {
    start: u64,
    end: u64,
    label_end: u32,
    retries_end: u32,
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

impl Bars {
    /// Adds a bar. Past 4 GiB of labels, or 4 billion retries, in one picture (never, in
    /// a run of at most a million calls), a bar's label or ticks are left out.
    pub fn push(
        &mut self,
        label: &str,
        start: Duration,
        end: Duration,
        retries: &[Duration],
        status: Status,
    ) {
        if u32::try_from(self.labels.len() + label.len()).is_ok() {
            self.labels.push_str(label);
        }
        if u32::try_from(self.retries.len() + retries.len()).is_ok() {
            self.retries.extend(retries.iter().map(|&r| nanos(r)));
        }
        self.slots.push(Slot {
            start: nanos(start),
            end: nanos(end),
            // Both fit: checked just above.
            label_end: self.labels.len() as u32,
            retries_end: self.retries.len() as u32,
        });
        self.status.push(status);
    }

    /// How many bars.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// The latest end of any bar (zero if there are none).
    pub fn last_end(&self) -> Duration {
        Duration::from_nanos(self.slots.iter().map(|s| s.end).max().unwrap_or(0))
    }

    /// How each bar ended, in order.
    pub fn statuses(&self) -> &[Status] {
        &self.status
    }

    /// Bar `i`, if there is one.
    pub fn get(&self, i: usize) -> Option<Bar> {
        let slot = self.slots.get(i)?;
        let (label_start, retries_start) = match i.checked_sub(1) {
            Some(before) => {
                let before = self.slots[before];
                (before.label_end as usize, before.retries_end as usize)
            }
            None => (0, 0),
        };
        Some(Bar {
            label: self.labels[label_start..slot.label_end as usize].to_owned(),
            start: Duration::from_nanos(slot.start),
            end: Duration::from_nanos(slot.end),
            retries: self.retries[retries_start..slot.retries_end as usize]
                .iter()
                .map(|&r| Duration::from_nanos(r))
                .collect(),
            status: self.status[i],
        })
    }

    /// Every bar, in order, made one at a time.
    pub fn iter(&self) -> impl Iterator<Item = Bar> + '_ {
        (0..self.len()).filter_map(|i| self.get(i))
    }
}

impl FromIterator<Bar> for Bars {
    fn from_iter<I: IntoIterator<Item = Bar>>(bars: I) -> Bars {
        let mut all = Bars::default();
        for bar in bars {
            all.push(&bar.label, bar.start, bar.end, &bar.retries, bar.status);
        }
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bar_costs_a_few_dozen_bytes_and_comes_back_as_it_went_in() {
        assert_eq!(
            std::mem::size_of::<Slot>() + std::mem::size_of::<Status>(),
            25
        );
        let ms = Duration::from_millis;
        let bars: Vec<Bar> = (0..100)
            .map(|i| Bar {
                label: format!("id {i}"),
                start: ms(i),
                end: ms(i + 5),
                retries: (0..i % 3).map(|r| ms(i + r)).collect(),
                status: if i % 7 == 0 {
                    Status::Failed
                } else {
                    Status::Ok
                },
            })
            .collect();
        let compact: Bars = bars.iter().cloned().collect();
        assert_eq!(compact.iter().collect::<Vec<_>>(), bars);
        assert_eq!(compact.last_end(), ms(104));
        // Labels and retries share one allocation each: no per-bar heap.
        assert_eq!(
            compact.labels.len(),
            bars.iter().map(|b| b.label.len()).sum::<usize>()
        );
    }
}
