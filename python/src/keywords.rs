//! `Engine(...)`'s keywords: each names a setting of the library's builder (its name with
//! `_` for `-`, or one of the original's plurals), and its Python value becomes a
//! `SettingValue` for `Builder::set`. Nothing is written per setting: the library's table
//! is the list.

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

/// Keywords of `Engine(...)` that name a setting otherwise (the original's plurals).
const ALIASES: [(&str, octopus::Setting); 2] = [
    ("headers", octopus::Setting::Header),
    ("limits", octopus::Setting::Limit),
];

/// The setting a keyword of `Engine(...)` names: the library's name with `_` for `-`
/// (`connect_timeout`), or an alias; a keyword that names none is a `TypeError`.
pub(crate) fn setting_named(name: &str) -> PyResult<octopus::Setting> {
    ALIASES
        .iter()
        .find(|(alias, _)| *alias == name)
        .map(|(_, setting)| *setting)
        .or_else(|| octopus::Setting::from_name(name))
        .ok_or_else(|| PyTypeError::new_err(format!("unexpected setting '{name}'")))
}

/// A Python value as a setting's value: bool, int, float, str, bytes, a path, or a list
/// or tuple of those.
pub(crate) fn setting_value(
    name: &str,
    value: &Bound<'_, PyAny>,
) -> PyResult<octopus::SettingValue> {
    use octopus::SettingValue as V;
    use pyo3::types::{PyBool, PyFloat, PyInt, PyList, PyString, PyTuple};
    if value.is_instance_of::<PyBool>() {
        return Ok(V::Bool(value.extract()?));
    }
    if value.is_instance_of::<PyInt>() {
        return Ok(V::Int(value.extract()?));
    }
    if value.is_instance_of::<PyFloat>() {
        return Ok(V::Float(value.extract()?));
    }
    if value.is_instance_of::<PyString>() {
        return Ok(V::Text(value.extract()?));
    }
    if let Ok(bytes) = value.cast::<PyBytes>() {
        return Ok(V::Bytes(bytes.as_bytes().to_vec()));
    }
    if value.is_instance_of::<PyList>() || value.is_instance_of::<PyTuple>() {
        let items = value.try_iter()?;
        return items
            .map(|item| setting_value(name, &item?))
            .collect::<PyResult<Vec<_>>>()
            .map(V::List);
    }
    if let Ok(path) = value.extract::<std::path::PathBuf>() {
        return Ok(V::Text(path.display().to_string()));
    }
    let kind = value.get_type().name()?;
    Err(PyTypeError::new_err(format!(
        "setting '{name}' cannot take a {kind}"
    )))
}

/// A setting's value as Python's (for `setting_example`).
fn python_value(py: Python<'_>, value: &octopus::SettingValue) -> PyResult<Py<PyAny>> {
    use octopus::SettingValue as V;
    Ok(match value {
        V::Bool(b) => b.into_pyobject(py)?.to_owned().into_any().unbind(),
        V::Int(n) => n.into_pyobject(py)?.into_any().unbind(),
        V::Float(x) => x.into_pyobject(py)?.into_any().unbind(),
        V::Text(t) => t.into_pyobject(py)?.into_any().unbind(),
        V::Bytes(b) => PyBytes::new(py, b).into_any().unbind(),
        V::List(items) => {
            let items = items
                .iter()
                .map(|item| python_value(py, item))
                .collect::<PyResult<Vec<_>>>()?;
            pyo3::types::PyTuple::new(py, items)?.into_any().unbind()
        }
        _ => py.None(),
    })
}

/// Every setting `Engine(...)` takes, by keyword, with what it takes (the library's
/// table: a setting added there is a keyword here).
#[pyfunction]
pub(crate) fn settings() -> Vec<(String, &'static str)> {
    octopus::Setting::ALL
        .iter()
        .map(|s| (s.name().replace('-', "_"), s.takes()))
        .collect()
}

/// A value the setting named `name` takes (for tests and documentation).
#[pyfunction]
pub(crate) fn setting_example(py: Python<'_>, name: &str) -> PyResult<Py<PyAny>> {
    python_value(py, &setting_named(name)?.example())
}
