//! The band table: band key → newest entry, open addressing with linear
//! probing over 8-byte slots (a 32-bit key fingerprint and the entry).
//!
//! Keeping a fingerprint instead of the 64-bit key halves the table, which
//! at half a million tickets and forty bands each is most of the index's
//! memory traffic. Two keys with one fingerprint share a chain: their
//! tickets become candidates of each other and the exact check turns them
//! away, so a collision costs a comparison, never a wrong link.

const EMPTY: u32 = u32::MAX;

#[derive(Debug, Default)]
pub struct BandTable {
    /// (fingerprint, entry); entry `EMPTY` marks a free slot.
    slots: Vec<(u32, u32)>,
    len: usize,
}

impl BandTable {
    fn fingerprint(key: u64) -> u32 {
        (key >> 32) as u32 ^ key as u32
    }

    fn home(&self, fp: u32) -> usize {
        ((u64::from(fp) * self.slots.len() as u64) >> 32) as usize
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Touches the home slots of all `keys` first: the loads do not
    /// depend on each other, so the CPU waits for memory once for all of
    /// them instead of once per lookup (no `unsafe` prefetch needed).
    pub fn warm(&self, keys: &[u64]) {
        if self.slots.is_empty() {
            return;
        }
        let x = keys.iter().fold(0u32, |x, &k| x ^ self.slots[self.home(Self::fingerprint(k))].1);
        std::hint::black_box(x);
    }

    /// The newest entry under `key`.
    pub fn get(&self, key: u64) -> Option<u32> {
        if self.slots.is_empty() {
            return None;
        }
        let fp = Self::fingerprint(key);
        let mut i = self.home(fp);
        loop {
            let (f, e) = self.slots[i];
            if e == EMPTY {
                return None;
            }
            if f == fp {
                return Some(e);
            }
            i = (i + 1) & (self.slots.len() - 1);
        }
    }

    /// Makes `entry` the newest under `key`; returns the one it replaces.
    pub fn insert(&mut self, key: u64, entry: u32) -> Option<u32> {
        debug_assert_ne!(entry, EMPTY);
        if (self.len + 1) * 10 > self.slots.len() * 7 {
            self.grow((self.len + 1) * 2);
        }
        let fp = Self::fingerprint(key);
        let mut i = self.home(fp);
        loop {
            let (f, e) = self.slots[i];
            if e == EMPTY {
                self.slots[i] = (fp, entry);
                self.len += 1;
                return None;
            }
            if f == fp {
                self.slots[i].1 = entry;
                return Some(e);
            }
            i = (i + 1) & (self.slots.len() - 1);
        }
    }

    /// Room for `n` keys in all without growing.
    pub fn reserve(&mut self, n: usize) {
        if n * 10 > self.slots.len() * 7 {
            self.grow(n);
        }
    }

    fn grow(&mut self, n: usize) {
        let cap = (n * 10 / 7 + 1).next_power_of_two().max(64);
        let old = std::mem::replace(&mut self.slots, vec![(0, EMPTY); cap]);
        self.len = 0;
        for (fp, e) in old {
            if e != EMPTY {
                let mut i = self.home(fp);
                while self.slots[i].1 != EMPTY {
                    i = (i + 1) & (cap - 1);
                }
                self.slots[i] = (fp, e);
                self.len += 1;
            }
        }
    }

    pub fn clear(&mut self) {
        self.slots.iter_mut().for_each(|s| *s = (0, EMPTY));
        self.len = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newest_entry_per_key_through_growth() {
        let mut t = BandTable::default();
        assert_eq!(t.get(5), None);
        for k in 0..10_000u64 {
            let key = crate::neardup::shingle::mix(k);
            assert_eq!(t.insert(key, k as u32), None);
        }
        assert_eq!(t.len(), 10_000);
        let key = crate::neardup::shingle::mix(42);
        assert_eq!(t.insert(key, 7), Some(42));
        assert_eq!(t.get(key), Some(7));
        assert_eq!(t.get(crate::neardup::shingle::mix(9_999)), Some(9_999));
        assert_eq!(t.get(crate::neardup::shingle::mix(10_001)), None);
        t.clear();
        assert!(t.is_empty() && t.get(key).is_none());
    }
}
