//! A word's score rows, the first time the tagger meets it: the features of
//! `crf_features.FeatureCache` (its own, and as a neighbour at -1, +1, -2, +2), spelled out in
//! the same order and looked up in the model's attribute index, their weight rows added from
//! zero one by one as CRFsuite adds them, so every score is bit for bit the same.
//!
//! A word's shape (`shape`, which `crf_features.shape` calls) is defined here, its trigger
//! classes in `triggers.rs`; clusters and gazetteer word types are given by Python.

use pyo3::buffer::PyBuffer;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyString;

use crate::clitics::variants;
use crate::fx::Map;
use crate::triggers::Triggers;
use crate::ROLES;

type Cluster = (String, String, String);

/// One model's attribute weights with the word data its features read.
#[pyclass(frozen)]
pub struct Scorer {
    labels: usize,
    /// (attributes + 1) x labels, float64; row 0 (no attribute) is never read
    weights: Py<PyAny>,
    /// attribute -> its row of `weights` (from 1)
    index: Map<usize>,
    clusters: Map<Cluster>,
    /// word -> entity types of the gazetteer names holding it
    word_types: Map<Vec<String>>,
    triggers: Py<Triggers>,
}

/// The first `k` characters of `s` (Python's `s[:k]`).
fn head(s: &str, k: usize) -> &str {
    s.char_indices().nth(k).map_or(s, |(at, _)| &s[..at])
}

/// The last `k` characters of `s` (Python's `s[-k:]`).
fn tail(s: &str, k: usize) -> &str {
    let n = s.chars().count();
    if n <= k {
        return s;
    }
    s.char_indices().nth(n - k).map_or(s, |(at, _)| &s[at..])
}

/// A word's features by role: own, then as neighbour at -1, +1, -2, +2 (prefixed so).
struct Features {
    own: Vec<String>,
    near: Vec<String>,
    far: Vec<String>,
}

#[pymethods]
impl Scorer {
    #[new]
    fn new(
        weights: &Bound<'_, PyAny>,
        index: Map<usize>,
        clusters: Map<Cluster>,
        word_types: Map<Vec<String>>,
        triggers: Py<Triggers>,
    ) -> PyResult<Self> {
        let buf = PyBuffer::<f64>::get(weights)?;
        let shape = buf.shape();
        if shape.len() != 2 || !buf.is_c_contiguous() {
            return Err(PyValueError::new_err(format!(
                "weights of shape {shape:?}: expected a C-contiguous (attributes + 1, labels) matrix"
            )));
        }
        if let Some((name, row)) = index.iter().find(|(_, &row)| row == 0 || row >= shape[0]) {
            return Err(PyValueError::new_err(format!(
                "attribute {name:?} at row {row} of a {}-row matrix",
                shape[0]
            )));
        }
        Ok(Scorer {
            labels: shape[1],
            weights: weights.clone().unbind(),
            index,
            clusters,
            word_types,
            triggers,
        })
    }

    /// Write the rows of `words` into `table` (words x roles x labels, float64), from its row
    /// `first` on.
    fn fill(
        &self,
        py: Python<'_>,
        table: &Bound<'_, PyAny>,
        first: usize,
        words: Vec<String>,
    ) -> PyResult<()> {
        let l = self.labels;
        let out = PyBuffer::<f64>::get(table)?;
        let shape = out.shape();
        if shape.len() != 3 || shape[1] != ROLES || shape[2] != l {
            return Err(PyValueError::new_err(format!(
                "score table of shape {shape:?}: expected (words, {ROLES}, {l})"
            )));
        }
        if out.readonly() || !out.is_c_contiguous() {
            return Err(PyValueError::new_err(
                "score table is not a writable C-contiguous array",
            ));
        }
        if first + words.len() > shape[0] {
            return Err(PyValueError::new_err(format!(
                "{} words from row {first} of a {}-row table",
                words.len(),
                shape[0]
            )));
        }
        let weights = PyBuffer::<f64>::get(self.weights.bind(py))?;
        // SAFETY: both buffers are C-contiguous f64 arrays kept exported by `out` and `weights`
        // until the end of this call, the table writable; the GIL is held throughout, so no
        // Python code reads or writes them meanwhile. They are distinct arrays (the table is
        // (words, 5, labels), the weights 2-dimensional).
        let (rows, weights) = unsafe {
            (
                std::slice::from_raw_parts_mut(out.buf_ptr() as *mut f64, out.item_count()),
                std::slice::from_raw_parts(weights.buf_ptr() as *const f64, weights.item_count()),
            )
        };
        let size = ROLES * l;
        let triggers = self.triggers.get();
        for (k, word) in words.iter().enumerate() {
            let feats = self.features(word, shape_of(py, word)?, &triggers.of(word));
            let at = (first + k) * size;
            let row = &mut rows[at..at + size];
            row.fill(0.0);
            let mut key = String::new();
            let mut add = |role: usize, prefix: &str, feat: &str| {
                key.clear();
                key.push_str(prefix);
                key.push_str(feat);
                if let Some(&id) = self.index.get(&key) {
                    let into = &mut row[role * l..(role + 1) * l];
                    for (a, w) in into.iter_mut().zip(&weights[id * l..(id + 1) * l]) {
                        *a += w;
                    }
                }
            };
            for f in &feats.own {
                add(0, "", f);
            }
            for (role, prefix) in [(1, "-1"), (2, "+1")] {
                for f in &feats.near {
                    add(role, prefix, f);
                }
            }
            for (role, prefix) in [(3, "-2"), (4, "+2")] {
                for f in &feats.far {
                    add(role, prefix, f);
                }
            }
        }
        Ok(())
    }
}

impl Scorer {
    /// `FeatureCache._word_features` and `._context_features` of a tagged word (no `rare`).
    fn features(&self, norm: &str, kind: &str, triggers: &[&str]) -> Features {
        let readings = variants(norm);
        let bare = readings.last().map_or(norm, String::as_str);
        let cluster = readings.iter().find_map(|v| self.clusters.get(v));
        let mut types: Vec<&str> = readings
            .iter()
            .filter_map(|v| self.word_types.get(v))
            .flatten()
            .map(String::as_str)
            .collect();
        types.sort_unstable();
        types.dedup();
        let nisba = readings.iter().any(|v| self.nisba(v));
        let marks: Vec<String> = types
            .iter()
            .map(|t| format!("gw={t}"))
            .chain(triggers.iter().map(|t| format!("t={t}")))
            .collect();
        let mut own = vec![
            format!("w={norm}"),
            format!("s={bare}"),
            format!("p2={}", head(norm, 2)),
            format!("p3={}", head(norm, 3)),
            format!("x2={}", tail(norm, 2)),
            format!("x3={}", tail(norm, 3)),
            format!("bp3={}", head(bare, 3)),
            format!("bx3={}", tail(bare, 3)),
            format!("p4={}", head(norm, 4)),
            format!("x1={}", tail(norm, 1)),
            format!("x4={}", tail(norm, 4)),
            format!("bp2={}", head(bare, 2)),
            format!("bp4={}", head(bare, 4)),
            format!("bx2={}", tail(bare, 2)),
            format!("bx4={}", tail(bare, 4)),
            format!("len={}", bare.chars().count().min(8)),
        ];
        if kind != "ar" {
            own.push(format!("sh={kind}"));
        }
        match cluster {
            Some((c4, c8, c12)) => {
                own.extend([format!("c4={c4}"), format!("c8={c8}"), format!("c12={c12}")])
            }
            None => own.push("c=none".to_string()),
        }
        if let Some(bare_cluster) = self.clusters.get(bare) {
            if cluster != Some(bare_cluster) {
                own.extend([
                    format!("bc8={}", bare_cluster.1),
                    format!("bc12={}", bare_cluster.2),
                ]);
            }
        }
        own.extend(marks.iter().cloned());
        let mut near = vec![
            format!("w={norm}"),
            format!("s={bare}"),
            format!("p2={}", head(norm, 2)),
            format!("x2={}", tail(norm, 2)),
        ];
        near.extend(marks.iter().cloned());
        if nisba {
            own.push("nisba".to_string());
            near.push("nisba".to_string());
        }
        let mut far = vec![format!("w={norm}")];
        far.extend(marks);
        if let Some((_, c8, c12)) = cluster {
            near.extend([format!("c8={c8}"), format!("c12={c12}")]);
            far.push(format!("c8={c8}"));
        }
        Features { own, near, far }
    }

    /// A nisba adjective of a known place (الإيرانية from ايران): `FeatureCache._nisba`.
    fn nisba(&self, reading: &str) -> bool {
        let base = reading
            .strip_suffix("يه")
            .or_else(|| reading.strip_suffix('ي'))
            .unwrap_or("");
        !base.is_empty()
            && self
                .word_types
                .get(base)
                .is_some_and(|types| types.iter().any(|t| t == "LOC"))
    }
}

/// Python's `str.isdigit` of one character: an ASCII digit, or a numeric character (every
/// character Python calls a digit is one) that Python calls a digit.
fn is_digit(py: Python<'_>, c: char) -> PyResult<bool> {
    if c.is_ascii() || !c.is_numeric() {
        return Ok(c.is_ascii_digit());
    }
    PyString::new(py, c.encode_utf8(&mut [0; 4]))
        .call_method0("isdigit")?
        .extract()
}

/// A word's shape: "num" (digits only), "latin" (ASCII letters only), "mixed" (other ASCII),
/// "armix" (other, with a digit) or "ar".
pub fn shape_of(py: Python<'_>, norm: &str) -> PyResult<&'static str> {
    let mut digits = 0;
    for c in norm.chars() {
        digits += usize::from(is_digit(py, c)?);
    }
    Ok(if digits > 0 && digits == norm.chars().count() {
        "num"
    } else if norm.is_ascii() {
        if !norm.is_empty() && norm.chars().all(|c| c.is_ascii_alphabetic()) {
            "latin"
        } else {
            "mixed"
        }
    } else if digits > 0 {
        "armix"
    } else {
        "ar"
    })
}

/// `shape(norm)`: see [`shape_of`].
#[pyfunction]
pub fn word_shape(py: Python<'_>, norm: &str) -> PyResult<&'static str> {
    shape_of(py, norm)
}
