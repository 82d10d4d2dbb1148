//! The per-sentence core of Rasad's CRF tagger (`stream/enrich/entities/crf.py`), compiled.
//!
//! Each distinct word's score rows (its own features and its features as a neighbour at -1, +1,
//! -2, +2) are summed once per word from the model's weights into a table (`words`, the
//! `Scorer`). Here, per sentence: the table rows of its tokens become state scores (neighbour rows,
//! sentence ends, punctuation breaks and gazetteer matches added in the order of
//! `crf_features.sequence_features`, so the scores are bit for bit the same), then the best label
//! sequence is found by Viterbi with CRFsuite's own tie-breaking (the first best previous label,
//! the first best last label), over the transition weights read from the model file.
//!
//! `names` is the gazetteer's name scan, which finds the matches the tagger is given; `clitics`
//! the proclitic readings of a word both read (and Python's `normalize.clitic_variants` too).

mod clitics;
mod fx;
mod names;
mod triggers;
mod words;

use pyo3::buffer::PyBuffer;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedStr;

use names::{Found, Names};

/// The roles a word's row holds: its own scores, then as neighbour at -1, +1, -2, +2.
pub(crate) const ROLES: usize = 5;
/// A gazetteer match adds, per entity type: B on its first token, I on the others, E on its
/// last, and "+1"/"-1" on the tokens just before and just after it.
const MATCH_PARTS: usize = 5;

/// Sentence-level weights of one model: transitions, ends, breaks and gazetteer matches.
#[pyclass(frozen)]
struct Chain {
    labels: usize,
    /// `trans[from * labels + to]`
    trans: Vec<f64>,
    bos: Vec<f64>,
    eos: Vec<f64>,
    brk: Vec<f64>,
    brk_next: Vec<f64>,
    /// per entity type, its MATCH_PARTS score vectors
    gaz: Vec<Vec<Vec<f64>>>,
    /// the entity types, in the order of `gaz`
    kinds: Vec<String>,
}

fn check_len(what: &str, vec: &[f64], labels: usize) -> PyResult<()> {
    if vec.len() != labels {
        return Err(PyValueError::new_err(format!(
            "{what}: {} scores for {labels} labels",
            vec.len()
        )));
    }
    Ok(())
}

fn add(into: &mut [f64], vec: &[f64]) {
    for (a, b) in into.iter_mut().zip(vec) {
        *a += b;
    }
}

#[pymethods]
impl Chain {
    #[new]
    fn new(
        transitions: Vec<Vec<f64>>,
        ends: (Vec<f64>, Vec<f64>),
        breaks: (Vec<f64>, Vec<f64>),
        gazetteer: Vec<(String, Vec<Vec<f64>>)>,
    ) -> PyResult<Self> {
        let labels = transitions.len();
        if labels == 0 {
            return Err(PyValueError::new_err("a model without labels"));
        }
        for row in &transitions {
            check_len("transitions", row, labels)?;
        }
        for vec in [&ends.0, &ends.1, &breaks.0, &breaks.1] {
            check_len("sentence weights", vec, labels)?;
        }
        for (_, parts) in &gazetteer {
            if parts.len() != MATCH_PARTS {
                return Err(PyValueError::new_err(format!(
                    "gazetteer: {} match parts, expected {MATCH_PARTS}",
                    parts.len()
                )));
            }
            for vec in parts {
                check_len("gazetteer", vec, labels)?;
            }
        }
        Ok(Chain {
            labels,
            trans: transitions.concat(),
            bos: ends.0,
            eos: ends.1,
            brk: breaks.0,
            brk_next: breaks.1,
            kinds: gazetteer.iter().map(|(kind, _)| kind.clone()).collect(),
            gaz: gazetteer.into_iter().map(|(_, parts)| parts).collect(),
        })
    }

    /// Label indices of the best path of a sentence: `table` is the (words x roles x labels)
    /// float64 score table, `rows` each token's row in it, `breaks` whether a punctuation break
    /// precedes each token, `matches` the gazetteer's (type, start, end).
    fn tag(
        &self,
        table: &Bound<'_, PyAny>,
        rows: Vec<usize>,
        breaks: Vec<bool>,
        matches: Vec<(usize, usize, usize)>,
    ) -> PyResult<Vec<usize>> {
        self.best_path(table, &rows, &breaks, &matches)
    }

    /// The gazetteer's matches over a sentence's `norms` (`Names.scan`) and the label indices
    /// of its best path given them (`tag`), in one call.
    fn scan_tag(
        &self,
        names: &Bound<'_, Names>,
        table: &Bound<'_, PyAny>,
        norms: Vec<PyBackedStr>,
        rows: Vec<usize>,
        breaks: Vec<bool>,
    ) -> PyResult<(Vec<Found>, Vec<usize>)> {
        if rows.len() != norms.len() {
            return Err(PyValueError::new_err(format!(
                "{} rows for {} tokens",
                rows.len(),
                norms.len()
            )));
        }
        let mut names = names.borrow_mut();
        let found = names.find(&norms, &breaks)?;
        let mut matches = Vec::with_capacity(found.len());
        for &(entry, start, end, _, _) in &found {
            let kind = names.kind(entry);
            let Some(k) = self.kinds.iter().position(|t| t == kind) else {
                return Err(PyValueError::new_err(format!(
                    "a name of type {kind:?}, which the model has no weights for"
                )));
            };
            matches.push((k, start, end));
        }
        let labels = self.best_path(table, &rows, &breaks, &matches)?;
        Ok((found, labels))
    }
}

impl Chain {
    fn best_path(
        &self,
        table: &Bound<'_, PyAny>,
        rows: &[usize],
        breaks: &[bool],
        matches: &[(usize, usize, usize)],
    ) -> PyResult<Vec<usize>> {
        let buf = PyBuffer::<f64>::get(table)?;
        let shape = buf.shape();
        if shape.len() != 3 || shape[1] != ROLES || shape[2] != self.labels {
            return Err(PyValueError::new_err(format!(
                "score table of shape {shape:?}: expected (words, {ROLES}, {})",
                self.labels
            )));
        }
        if !buf.is_c_contiguous() {
            return Err(PyValueError::new_err("score table is not C-contiguous"));
        }
        // SAFETY: a C-contiguous buffer of item_count() f64s, kept exported by `buf` until the
        // end of this call; the GIL is held throughout, so no Python code can write to it.
        let cells =
            unsafe { std::slice::from_raw_parts(buf.buf_ptr() as *const f64, buf.item_count()) };
        let words = shape[0];
        if let Some(row) = rows.iter().find(|&&r| r >= words) {
            return Err(PyValueError::new_err(format!(
                "row {row} of a {words}-row table"
            )));
        }
        if breaks.len() != rows.len() {
            return Err(PyValueError::new_err(format!(
                "{} breaks for {} tokens",
                breaks.len(),
                rows.len()
            )));
        }
        let n = rows.len();
        for &(kind, start, end) in matches {
            if kind >= self.gaz.len() || start >= end || end > n {
                return Err(PyValueError::new_err(format!(
                    "match ({kind}, {start}, {end}) in a {n}-token sentence"
                )));
            }
        }
        if n == 0 {
            return Ok(Vec::new());
        }
        let l = self.labels;
        let cell = |token: usize, role: usize, label: usize| {
            cells[(rows[token] * ROLES + role) * l + label]
        };
        let emit = self.emit(n, &cell, breaks, matches);
        Ok(self.viterbi(&emit, n))
    }

    /// State scores (tokens x labels, row-major), added step by step in the order of
    /// `CrfTagger.scores` so that every float is the same.
    fn emit(
        &self,
        n: usize,
        cell: &dyn Fn(usize, usize, usize) -> f64,
        breaks: &[bool],
        matches: &[(usize, usize, usize)],
    ) -> Vec<f64> {
        let l = self.labels;
        let mut emit = vec![0.0; n * l];
        let at = |i: usize, y: usize| i * l + y;
        for i in 0..n {
            for y in 0..l {
                emit[at(i, y)] = cell(i, 0, y);
            }
        }
        for i in 1..n {
            for y in 0..l {
                emit[at(i, y)] += cell(i - 1, 1, y);
            }
        }
        for i in 0..n - 1 {
            for y in 0..l {
                emit[at(i, y)] += cell(i + 1, 2, y);
            }
        }
        add(&mut emit[at(0, 0)..at(1, 0)], &self.bos);
        add(&mut emit[at(n - 1, 0)..at(n, 0)], &self.eos);
        if n > 2 {
            // Python multiplies by the break mask (x * 0.0 may be -0.0): so does this.
            for i in 2..n {
                let open = if breaks[i - 1] { 0.0 } else { 1.0 };
                for y in 0..l {
                    emit[at(i, y)] += cell(i - 2, 3, y) * open;
                }
            }
            for i in 0..n - 2 {
                let open = if breaks[i + 2] { 0.0 } else { 1.0 };
                for y in 0..l {
                    emit[at(i, y)] += cell(i + 2, 4, y) * open;
                }
            }
        }
        for i in (0..n).filter(|&i| breaks[i]) {
            add(&mut emit[at(i, 0)..at(i + 1, 0)], &self.brk);
        }
        for i in (0..n - 1).filter(|&i| breaks[i + 1]) {
            add(&mut emit[at(i, 0)..at(i + 1, 0)], &self.brk_next);
        }
        for &(kind, start, end) in matches {
            let [b, inside, e, before, after] = &self.gaz[kind][..] else {
                unreachable!("MATCH_PARTS vectors per type, checked when built")
            };
            add(&mut emit[at(start, 0)..at(start + 1, 0)], b);
            if end - start > 1 {
                for i in start + 1..end {
                    add(&mut emit[at(i, 0)..at(i + 1, 0)], inside);
                }
                add(&mut emit[at(end - 1, 0)..at(end, 0)], e);
            }
            if start > 0 {
                add(&mut emit[at(start - 1, 0)..at(start, 0)], before);
            }
            if end < n {
                add(&mut emit[at(end, 0)..at(end + 1, 0)], after);
            }
        }
        emit
    }

    /// CRFsuite's `crf1dc_viterbi`: the same sums in the same order, the same strict `<`.
    fn viterbi(&self, emit: &[f64], n: usize) -> Vec<usize> {
        let l = self.labels;
        let mut score = emit[..l].to_vec();
        let mut next = vec![0.0; l];
        let mut back = vec![0usize; n * l];
        for t in 1..n {
            for j in 0..l {
                let mut best = -f64::MAX;
                let mut from = None;
                for (i, prev) in score.iter().enumerate() {
                    let s = prev + self.trans[i * l + j];
                    if best < s {
                        best = s;
                        from = Some(i);
                    }
                }
                if let Some(i) = from {
                    back[t * l + j] = i;
                }
                next[j] = best + emit[t * l + j];
            }
            std::mem::swap(&mut score, &mut next);
        }
        let mut labels = vec![0usize; n];
        let mut best = -f64::MAX;
        for (i, &s) in score.iter().enumerate() {
            if best < s {
                best = s;
                labels[n - 1] = i;
            }
        }
        for t in (0..n - 1).rev() {
            labels[t] = back[(t + 1) * l + labels[t + 1]];
        }
        labels
    }
}

#[pymodule]
fn entities_native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Chain>()?;
    m.add_class::<Names>()?;
    m.add_class::<words::Scorer>()?;
    m.add_class::<triggers::Triggers>()?;
    m.add_function(wrap_pyfunction!(words::word_shape, m)?)?;
    m.add_function(wrap_pyfunction!(clitics::clitic_variants, m)?)
}
