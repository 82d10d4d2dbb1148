//! The gazetteer's name scan (`Gazetteer.match` in `stream/enrich/entities/gazetteer.py`),
//! compiled: longest-first, left-to-right, non-overlapping matches of the indexed names over a
//! text's normalized tokens, each token read with its proclitics stripped (`clitics.rs`).

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedStr;

use crate::clitics::variants;
use crate::fx::Map;

/// Joins a name's words into one map key: no normalized word holds it (it is no word character).
const SEP: char = '\0';
/// Distinct words whose longest possible name is remembered, as the Python's `_HEADS_CACHE`.
const HEADS_CACHE: usize = 150_000;

/// The names of one gazetteer: each key (its normalized words) with its entry's number.
#[pyclass]
pub struct Names {
    index: Map<usize>,
    /// the longest key starting with a given word
    first: Map<usize>,
    /// per word seen: what of it may start a name
    heads: Map<Head>,
    /// each entry's entity type, by entry number
    kinds: Vec<String>,
}

/// A match: (entry, start, end, strip, reading); `reading` is the clitic reading of the first
/// token that the name starts with, `strip` the normalized characters before it.
pub type Found = (usize, usize, usize, usize, String);

/// Characters of `norm` before its `reading` starts: for "للامم" read as "الامم", the one ل.
fn strip_len(norm: &str, reading: &str) -> usize {
    let cut = norm.chars().count() - reading.chars().count();
    if reading.starts_with("ال") && !norm.ends_with(reading) {
        cut + 1
    } else {
        cut
    }
}

/// What a word may start: the readings of it that start some name, in `clitic_variants` order
/// (no other reading can be a name's first word), and the longest of those names (0: none,
/// most words).
struct Head {
    longest: usize,
    readings: Vec<String>,
}

fn check_word(word: &str) -> PyResult<()> {
    if word.contains(SEP) {
        return Err(PyValueError::new_err(format!(
            "name word {word:?} holds a NUL"
        )));
    }
    Ok(())
}

#[pymethods]
impl Names {
    #[new]
    fn new(keys: Vec<(Vec<String>, usize)>, kinds: Vec<String>) -> PyResult<Self> {
        let mut index = Map::default();
        let mut first = Map::default();
        for (words, entry) in keys {
            let Some(head) = words.first() else {
                return Err(PyValueError::new_err("a name without words"));
            };
            for word in &words {
                check_word(word)?;
            }
            if entry >= kinds.len() {
                return Err(PyValueError::new_err(format!(
                    "entry {entry} of {} typed entries",
                    kinds.len()
                )));
            }
            let longest = first.entry(head.clone()).or_insert(0);
            *longest = (*longest).max(words.len());
            index.insert(words.join(&SEP.to_string()), entry);
        }
        Ok(Names {
            index,
            first,
            heads: Map::default(),
            kinds,
        })
    }

    /// Each match over `norms` (see `Gazetteer.match` and [`Found`]).
    fn scan(&mut self, norms: Vec<PyBackedStr>, breaks: Vec<bool>) -> PyResult<Vec<Found>> {
        self.find(&norms, &breaks)
    }
}

impl Names {
    /// The entity type of entry number `entry`.
    pub fn kind(&self, entry: usize) -> &str {
        &self.kinds[entry]
    }

    pub fn find(&mut self, norms: &[PyBackedStr], breaks: &[bool]) -> PyResult<Vec<Found>> {
        let n = norms.len();
        if breaks.len() != n {
            return Err(PyValueError::new_err(format!(
                "{} breaks for {n} tokens",
                breaks.len()
            )));
        }
        if self.heads.len() + n >= HEADS_CACHE {
            self.heads.clear();
        }
        for norm in norms {
            if !self.heads.contains_key(&**norm) {
                let head = self.head(norm);
                self.heads.insert(norm.to_string(), head);
            }
        }
        let heads = &self.heads;
        let longest: Vec<usize> = norms.iter().map(|norm| heads[&**norm].longest).collect();
        let mut out = Vec::new();
        let mut end = 0; // first token not inside a match yet
        for i in 0..n {
            if i < end || longest[i] == 0 {
                continue;
            }
            let mut span = 1;
            while span < longest[i] && i + span < n && !breaks[i + span] {
                span += 1;
            }
            if let Some((entry, start, stop, reading)) = self.longest_at(norms, i, span) {
                end = stop;
                out.push((entry, start, stop, strip_len(&norms[i], &reading), reading));
            }
        }
        Ok(out)
    }

    fn head(&self, norm: &str) -> Head {
        let mut longest = 0;
        let mut readings = Vec::new();
        for v in variants(norm) {
            if let Some(&most) = self.first.get(&v) {
                longest = longest.max(most);
                readings.push(v);
            }
        }
        Head { longest, readings }
    }

    /// The longest name (at most `span` tokens) starting at token `i`, trying its readings in
    /// order for each length; one key buffer serves every lookup.
    fn longest_at(
        &self,
        norms: &[PyBackedStr],
        i: usize,
        span: usize,
    ) -> Option<(usize, usize, usize, String)> {
        let readings = &self.heads[&*norms[i]].readings;
        // the following words, each behind SEP; `cuts[k]`: where the first k of them end
        let mut tail = String::new();
        let mut cuts = vec![0];
        for word in &norms[i + 1..i + span] {
            tail.push(SEP);
            tail.push_str(word);
            cuts.push(tail.len());
        }
        let mut key = String::new();
        for length in (1..=span).rev() {
            for v in readings {
                key.clear();
                key.push_str(v);
                key.push_str(&tail[..cuts[length - 1]]);
                if let Some(&entry) = self.index.get(&key) {
                    return Some((entry, i, i + length, v.clone()));
                }
            }
        }
        None
    }
}
