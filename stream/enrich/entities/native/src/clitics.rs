//! The readings of a normalized token with its proclitics stripped: the one implementation,
//! which `stream.enrich.normalize.clitic_variants` calls, the name scan and the word scorer use.

use pyo3::prelude::*;
use pyo3::types::PyTuple;

/// A stripped reading keeps at least this many letters: two-letter names exist (قم, Qom),
/// one-letter stems are never names.
const MIN_VARIANT: usize = 2;
const CONJ: [char; 2] = ['و', 'ف'];
const PREP: [char; 3] = ['ب', 'ل', 'ك'];

/// The token, then its readings without proclitics (و ف, then ب ل ك, then the article ال; ل
/// before the article drops its alef, which the reading restores), longest first (a stable sort:
/// among equal lengths, the order found).
pub fn variants(token: &str) -> Vec<String> {
    let chars: Vec<char> = token.chars().collect();
    let n = chars.len();
    let mut out: Vec<Vec<char>> = vec![chars.clone()];
    let mut add = |candidate: Vec<char>| {
        if candidate.len() >= MIN_VARIANT && !out.contains(&candidate) {
            out.push(candidate);
        }
    };
    let starts_with = |at: usize, what: &[char]| chars.get(at..at + what.len()) == Some(what);
    let conj = chars.first().is_some_and(|c| CONJ.contains(c));
    for i in if conj { 0..2 } else { 0..1 } {
        if i == 1 {
            add(chars[1..].to_vec());
        }
        if starts_with(i, &['ل', 'ل']) && n >= i + 2 + MIN_VARIANT {
            add(std::iter::once('ا')
                .chain(chars[i + 1..].iter().copied())
                .collect());
            add(chars[i + 2..].to_vec());
            continue;
        }
        let mut j = i;
        if chars.get(i).is_some_and(|c| PREP.contains(c)) {
            j = i + 1;
            add(chars[j..].to_vec());
        }
        if starts_with(j, &['ا', 'ل']) {
            add(chars[j + 2..].to_vec());
        }
    }
    out.sort_by_key(|c| std::cmp::Reverse(c.len()));
    out.into_iter().map(|c| c.into_iter().collect()).collect()
}

/// `clitic_variants(token)`: see [`variants`].
#[pyfunction]
pub fn clitic_variants<'py>(py: Python<'py>, token: &str) -> PyResult<Bound<'py, PyTuple>> {
    PyTuple::new(py, variants(token))
}
