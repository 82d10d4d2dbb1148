//! Trigger classes of a word (`stream/enrich/entities/triggers.py` holds the word lists): the
//! classes whose words hold any of its clitic readings, in the classes' order, and the title
//! class too for a title with a possessive pronoun ("شقيقه", "زميلها", "قائدهم").

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyTuple;

use crate::clitics::variants;
use crate::fx::Map;

/// A title keeps at least this many letters before its possessive pronoun.
const MIN_KIN_TITLE: usize = 3;

#[pyclass(frozen)]
pub struct Triggers {
    /// class names, in order
    names: Vec<String>,
    /// word -> the classes (indices into `names`) holding it
    words: Map<Vec<usize>>,
    /// the class of titles, which a possessive may follow
    titles: usize,
    possessives: Vec<String>,
}

#[pymethods]
impl Triggers {
    #[new]
    fn new(
        classes: Vec<(String, Vec<String>)>,
        titles: &str,
        possessives: Vec<String>,
    ) -> PyResult<Self> {
        let Some(titles) = classes.iter().position(|(name, _)| name == titles) else {
            return Err(PyValueError::new_err(format!(
                "no trigger class {titles:?}"
            )));
        };
        let mut words = Map::<Vec<usize>>::default();
        let mut names = Vec::new();
        for (k, (name, members)) in classes.into_iter().enumerate() {
            names.push(name);
            for word in members {
                words.entry(word).or_default().push(k);
            }
        }
        Ok(Triggers {
            names,
            words,
            titles,
            possessives,
        })
    }

    /// `trigger_classes(norm)`: see the module's doc.
    fn classes<'py>(&self, py: Python<'py>, norm: &str) -> PyResult<Bound<'py, PyTuple>> {
        PyTuple::new(py, self.of(norm))
    }
}

impl Triggers {
    pub fn of(&self, norm: &str) -> Vec<&str> {
        let readings = variants(norm);
        let mut found = vec![false; self.names.len()];
        for k in readings.iter().filter_map(|v| self.words.get(v)).flatten() {
            found[*k] = true;
        }
        let kin = !found[self.titles] && readings.iter().any(|v| self.kin_title(v));
        let named = self.names.iter().zip(&found).filter(|(_, &f)| f);
        let mut out: Vec<&str> = named.map(|(name, _)| name.as_str()).collect();
        if kin {
            out.insert(0, &self.names[self.titles]);
        }
        out
    }

    fn kin_title(&self, reading: &str) -> bool {
        let chars = reading.chars().count();
        self.possessives.iter().any(|suffix| {
            reading.strip_suffix(suffix.as_str()).is_some_and(|title| {
                chars - suffix.chars().count() >= MIN_KIN_TITLE
                    && self
                        .words
                        .get(title)
                        .is_some_and(|classes| classes.contains(&self.titles))
            })
        })
    }
}
