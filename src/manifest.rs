//! Reading FailoverRecord manifests for the standalone CLI: files, directories
//! and standard input, multi-document YAML or JSON, and `kind: List`.

use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde_json::Value;

/// One document from one source.
#[derive(Clone, Debug, PartialEq)]
pub struct Document {
    /// Where it came from, such as `web.yaml (document 2)`.
    pub source: String,
    pub object: Value,
}

/// A manifest that could not be read or parsed.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("{path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{source_name}: not valid YAML or JSON: {message}")]
    Parse {
        source_name: String,
        message: String,
    },
    #[error("no manifests found in {0}")]
    Empty(String),
}

/// Read every document under `paths`. Directories are read one level deep,
/// files ending in `.yaml`, `.yml` or `.json`, in name order; `-` is stdin.
pub fn load(paths: &[PathBuf]) -> Result<Vec<Document>, ManifestError> {
    let mut documents = Vec::new();
    for path in paths {
        if path.as_os_str() == "-" {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .map_err(|source| ManifestError::Read {
                    path: "<stdin>".into(),
                    source,
                })?;
            documents.extend(parse("<stdin>", &text)?);
        } else if path.is_dir() {
            let mut files: Vec<PathBuf> = std::fs::read_dir(path)
                .map_err(|source| read_error(path, source))?
                .filter_map(|entry| entry.ok().map(|e| e.path()))
                .filter(|p| {
                    p.is_file()
                        && matches!(
                            p.extension().and_then(|e| e.to_str()),
                            Some("yaml" | "yml" | "json")
                        )
                })
                .collect();
            files.sort();
            for file in files {
                documents.extend(read_file(&file)?);
            }
        } else {
            documents.extend(read_file(path)?);
        }
    }
    if documents.is_empty() {
        let names: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
        return Err(ManifestError::Empty(names.join(", ")));
    }
    Ok(documents)
}

fn read_error(path: &Path, source: std::io::Error) -> ManifestError {
    ManifestError::Read {
        path: path.display().to_string(),
        source,
    }
}

fn read_file(path: &Path) -> Result<Vec<Document>, ManifestError> {
    let text = std::fs::read_to_string(path).map_err(|source| read_error(path, source))?;
    parse(&path.display().to_string(), &text)
}

/// Parse a multi-document YAML (or JSON) text.
pub fn parse(name: &str, text: &str) -> Result<Vec<Document>, ManifestError> {
    let mut documents = Vec::new();
    for (index, document) in serde_yaml::Deserializer::from_str(text).enumerate() {
        let source = format!("{name} (document {})", index + 1);
        let yaml: serde_yaml::Value =
            serde::Deserialize::deserialize(document).map_err(|e| ManifestError::Parse {
                source_name: source.clone(),
                message: e.to_string(),
            })?;
        if yaml.is_null() {
            continue;
        }
        let object: Value = serde_json::to_value(&yaml).map_err(|e| ManifestError::Parse {
            source_name: source.clone(),
            message: e.to_string(),
        })?;
        if object.get("kind").and_then(Value::as_str) == Some("List")
            && let Some(items) = object.get("items").and_then(Value::as_array)
        {
            for (i, item) in items.iter().enumerate() {
                documents.push(Document {
                    source: format!("{source} item {}", i + 1),
                    object: item.clone(),
                });
            }
            continue;
        }
        documents.push(Document { source, object });
    }
    Ok(documents)
}

impl fmt::Display for Document {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let meta = self.object.get("metadata");
        let name = meta
            .and_then(|m| m.get("name"))
            .and_then(Value::as_str)
            .unwrap_or("<unnamed>");
        let namespace = meta
            .and_then(|m| m.get("namespace"))
            .and_then(Value::as_str)
            .unwrap_or("default");
        write!(f, "{} ({namespace}/{name})", self.source)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multi_document_yaml_skips_empty_documents_and_flattens_lists() {
        let text = "---\nkind: A\n---\n---\nkind: List\nitems:\n- kind: B\n- kind: C\n";
        let docs = parse("x.yaml", text).expect("parses");
        let kinds: Vec<&str> = docs
            .iter()
            .map(|d| d.object["kind"].as_str().unwrap_or(""))
            .collect();
        assert_eq!(kinds, vec!["A", "B", "C"]);
        assert_eq!(docs[0].source, "x.yaml (document 1)");
        assert_eq!(docs[2].source, "x.yaml (document 3) item 2");
    }

    #[test]
    fn broken_yaml_names_the_document() {
        let err = parse("bad.yaml", "kind: A\n---\nkey: [unclosed\n").expect_err("fails");
        assert!(
            err.to_string()
                .starts_with("bad.yaml (document 2): not valid YAML"),
            "{err}"
        );
    }

    #[test]
    fn json_is_yaml() {
        let docs = parse("x.json", r#"{"kind": "FailoverRecord"}"#).expect("parses");
        assert_eq!(docs[0].object["kind"], "FailoverRecord");
    }

    #[test]
    fn directories_are_read_in_name_order() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("b.yaml"), "kind: B\n").expect("write");
        std::fs::write(dir.path().join("a.yml"), "kind: A\n").expect("write");
        std::fs::write(dir.path().join("notes.txt"), "kind: X\n").expect("write");
        let docs = load(&[dir.path().to_path_buf()]).expect("loads");
        let kinds: Vec<&str> = docs
            .iter()
            .map(|d| d.object["kind"].as_str().unwrap_or(""))
            .collect();
        assert_eq!(kinds, vec!["A", "B"]);
        assert!(matches!(
            load(&[dir.path().join("missing.yaml")]),
            Err(ManifestError::Read { .. })
        ));
    }
}
