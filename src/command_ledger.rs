//! The backend's memory of the kernel's per-command totals: what it read
//! last of each command, so that it sends only what changed, and totals
//! that stay monotonic when the kernel's bounded map evicts a command and
//! counts it afresh.

use std::collections::HashMap;

use crate::event::{CommandTotals, WallTime};
use crate::source::CommandUpdate;

/// Commands remembered at most: past this, those unchanged the longest and
/// no longer in the kernel's map are forgotten (their totals start again
/// if they come back). Each costs about 0.9 KiB (its totals, mostly the
/// histogram), so about 60 MiB at most, on a host that ran 65,536
/// different names.
pub const MAX_COMMANDS: usize = 65_536;

/// One command's bookkeeping: one name as the kernel keys it.
#[derive(Debug)]
struct Entry {
    /// the name as shown (several kernel names may show alike)
    comm: String,
    /// what the kernel's map held at the last read; None once evicted
    kernel: Option<Box<CommandTotals>>,
    /// what earlier, evicted kernel entries counted
    base: Option<Box<CommandTotals>>,
    /// the read at which its totals last changed
    changed_at: u64,
    /// the last read that found it in the kernel's map
    seen_at: u64,
}

impl Entry {
    fn totals(&self) -> CommandTotals {
        match (&self.base, &self.kernel) {
            (Some(base), Some(kernel)) => {
                let mut t = CommandTotals::clone(base);
                t.merge(kernel);
                t
            }
            (Some(only), None) | (None, Some(only)) => CommandTotals::clone(only),
            (None, None) => CommandTotals::new(""),
        }
    }

    /// The kernel evicted it: what it counted joins the base.
    fn evicted(&mut self) {
        let Some(old) = self.kernel.take() else {
            return;
        };
        match &mut self.base {
            Some(base) => base.merge(&old),
            None => self.base = Some(old),
        }
    }
}

#[derive(Debug)]
pub struct CommandLedger {
    /// by the kernel's name bytes (or the shown name, for totals that
    /// carry none)
    entries: HashMap<Vec<u8>, Entry>,
    /// the kernel names that show as each name, to add them up
    shown: HashMap<String, Vec<Vec<u8>>>,
    reads: u64,
    cap: usize,
    /// the last read, kept so the next one reuses its memory
    reading: Vec<CommandTotals>,
    /// kernel entries found: a name new to the ledger, back after an
    /// eviction, or counted afresh
    sightings: u64,
    /// the kernel's count of entries it inserted, at the last read
    inserted: u64,
    /// the unseen count last sent: it never goes down
    unseen: u64,
    /// when kept: what each command counted since the last read (for the
    /// metrics exporter, whose counters add growth up)
    growth: Option<Vec<CommandTotals>>,
}

impl Default for CommandLedger {
    fn default() -> Self {
        CommandLedger::new(MAX_COMMANDS)
    }
}

impl CommandLedger {
    pub fn new(cap: usize) -> Self {
        CommandLedger {
            entries: HashMap::new(),
            shown: HashMap::new(),
            reads: 0,
            cap: cap.max(1),
            reading: Vec::new(),
            sightings: 0,
            inserted: 0,
            unseen: 0,
            growth: None,
        }
    }

    /// Keeps, from now on, what each command counted between two reads,
    /// for `take_growth`.
    pub fn keep_growth(&mut self) {
        self.growth.get_or_insert_with(Vec::new);
    }

    /// What each command counted since the last `take_growth` (empty
    /// unless `keep_growth` was called). A command counted afresh after an
    /// eviction, or forgotten and back, grows by its whole new count.
    pub fn take_growth(&mut self) -> Vec<CommandTotals> {
        self.growth.as_mut().map(std::mem::take).unwrap_or_default()
    }

    /// Names the kernel took in and evicted before a read found them.
    pub fn unseen(&self) -> u64 {
        self.unseen
    }

    /// Commands remembered now.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Has `read` fill a buffer kept from read to read (a full map's
    /// reading is megabytes, which a VM faults in slowly) with a full read
    /// of the kernel's map, then takes it in as `update` does.
    /// `inserted` is the kernel's count of entries it inserted, read just
    /// before: those never found by a read were evicted unseen.
    pub fn refresh<E>(
        &mut self,
        at: WallTime,
        inserted: u64,
        read: impl FnOnce(&mut Vec<CommandTotals>) -> Result<(), E>,
    ) -> Result<Option<CommandUpdate>, E> {
        self.inserted = inserted;
        let mut reading = std::mem::take(&mut self.reading);
        let result = read(&mut reading).map(|()| self.update(&reading, at));
        self.reading = reading;
        result
    }

    /// Takes in a full read of the kernel's map (one entry per name),
    /// made at `at`. Returns the commands whose totals changed, with their
    /// totals since start, or None when nothing did (after the first read,
    /// which always answers).
    ///
    /// A command gone from the map, or whose counts fell, was evicted and
    /// counted afresh: what it had is kept as a base under the new counts.
    /// Runs between the last read and an eviction are lost; so is a
    /// restart that outgrew the old counts between two reads.
    pub fn update(&mut self, read: &[CommandTotals], at: WallTime) -> Option<CommandUpdate> {
        self.reads += 1;
        let now = self.reads;
        let mut changed_names: Vec<String> = Vec::new();
        let mut restarted = 0;
        let mut not_yet_counted = 0;
        for kernel in read {
            // an entry inserted but not yet counted is nothing new
            if kernel.runs == 0 {
                not_yet_counted += 1;
                continue;
            }
            let key = key_of(kernel);
            let Some(entry) = self.entries.get_mut(&key) else {
                if let Some(growth) = &mut self.growth {
                    growth.push(kernel.clone());
                }
                self.sightings += 1;
                changed_names.push(kernel.comm.clone());
                let entry = Entry {
                    comm: kernel.comm.clone(),
                    kernel: Some(Box::new(kernel.clone())),
                    base: None,
                    changed_at: now,
                    seen_at: now,
                };
                self.shown
                    .entry(kernel.comm.clone())
                    .or_default()
                    .push(key.clone());
                self.entries.insert(key, entry);
                continue;
            };
            entry.seen_at = now;
            match &mut entry.kernel {
                Some(last) if **last == *kernel => continue,
                Some(last) if !fell(last, kernel) => {
                    if let Some(growth) = &mut self.growth {
                        growth.push(kernel.growth_since(last));
                    }
                    (**last).clone_from(kernel)
                }
                _ => {
                    if let Some(growth) = &mut self.growth {
                        growth.push(kernel.clone());
                    }
                    if entry.kernel.is_some() {
                        entry.evicted();
                        restarted += 1;
                    }
                    self.sightings += 1;
                    entry.kernel = Some(Box::new(kernel.clone()));
                }
            }
            entry.changed_at = now;
            changed_names.push(entry.comm.clone());
        }
        changed_names.sort_unstable();
        changed_names.dedup();
        let changed: Vec<CommandTotals> = changed_names
            .iter()
            .map(|comm| self.shown_totals(comm))
            .collect();
        // not in this read: evicted from the kernel's map
        for entry in self.entries.values_mut() {
            if entry.seen_at != now && entry.kernel.is_some() {
                entry.evicted();
                restarted += 1;
            }
        }
        self.forget_beyond_cap();
        let unseen = self.unseen_now(not_yet_counted).max(self.unseen);
        let news = !changed.is_empty() || restarted > 0 || unseen > self.unseen;
        self.unseen = unseen;
        // the first is sent even when empty: the source counts commands
        (now == 1 || news).then_some(CommandUpdate {
            at,
            changed,
            restarted,
            unseen,
        })
    }

    /// The totals of every kernel name shown as `comm`, added up.
    fn shown_totals(&self, comm: &str) -> CommandTotals {
        let keys = self.shown.get(comm).map_or(&[][..], Vec::as_slice);
        let mut all = keys
            .iter()
            .filter_map(|k| self.entries.get(k))
            .map(Entry::totals);
        let mut sum = all.next().unwrap_or_else(|| CommandTotals::new(comm));
        for t in all {
            sum.merge(&t);
        }
        sum.comm = comm.to_string();
        sum
    }

    /// Entries the kernel inserted that no read found (those inserted but
    /// not counted yet aside).
    fn unseen_now(&self, not_yet_counted: u64) -> u64 {
        self.inserted
            .saturating_sub(self.sightings)
            .saturating_sub(not_yet_counted)
    }

    /// Forgets the commands unchanged the longest, of those the kernel no
    /// longer holds, down to 7/8 of the cap, so this runs once in a while
    /// rather than at every read.
    fn forget_beyond_cap(&mut self) {
        if self.entries.len() <= self.cap {
            return;
        }
        let mut idle: Vec<(u64, Vec<u8>)> = self
            .entries
            .iter()
            .filter(|(_, e)| e.kernel.is_none())
            .map(|(key, e)| (e.changed_at, key.clone()))
            .collect();
        idle.sort_unstable();
        let excess = self.entries.len() - self.cap * 7 / 8;
        for (_, key) in idle.into_iter().take(excess) {
            let Some(entry) = self.entries.remove(&key) else {
                continue;
            };
            if let Some(keys) = self.shown.get_mut(&entry.comm) {
                keys.retain(|k| *k != key);
                if keys.is_empty() {
                    self.shown.remove(&entry.comm);
                }
            }
        }
    }
}

/// The ledger's key of a reading: the kernel's name bytes, or the shown
/// name for totals that carry none.
fn key_of(t: &CommandTotals) -> Vec<u8> {
    if t.key.is_empty() {
        t.comm.as_bytes().to_vec()
    } else {
        t.key.clone()
    }
}

/// Whether any count fell: the kernel's entry is a newer one.
fn fell(old: &CommandTotals, new: &CommandTotals) -> bool {
    new.runs < old.runs
        || new.failed < old.failed
        || new.cpu_ns < old.cpu_ns
        || new.cpu_user_ns < old.cpu_user_ns
        || new.cpu_system_ns < old.cpu_system_ns
        || new.duration_ns < old.duration_ns
        || new.max_duration_ns < old.max_duration_ns
        || new.max_rss_kib < old.max_rss_kib
        || new.outcomes.iter().zip(&old.outcomes).any(|(n, o)| n < o)
        || new.durations.iter().zip(&old.durations).any(|(n, o)| n < o)
}

#[cfg(test)]
mod tests;
