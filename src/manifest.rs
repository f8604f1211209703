//! Reading FailoverRecord manifests for the standalone CLI: files, directories
//! and standard input, multi-document YAML or JSON, and `kind: List`.
//!
//! Input is bounded before it is parsed: at most [`MAX_SOURCE_BYTES`] per
//! source (so `-f /dev/zero` or an endless pipe is refused at once, not read
//! until memory runs out), and at most [`MAX_NESTING`] levels of flow
//! collections (`[`/`{`), which the YAML parser otherwise reads to the end
//! before refusing, in time that grows with the input.

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
    #[error("{0}: larger than {limit} MiB; dnsfailover reads at most that much from one file or from standard input", limit = MAX_SOURCE_BYTES >> 20)]
    TooLarge(String),
    #[error("{source_name}: not UTF-8 text")]
    NotText { source_name: String },
}

/// The most bytes read from one source (a file or standard input).
pub const MAX_SOURCE_BYTES: u64 = 32 << 20;

/// The deepest nesting of flow collections (`[...]`, `{...}`) accepted; a
/// FailoverRecord needs a handful.
pub const MAX_NESTING: usize = 64;

/// Read every document under `paths`. Directories are read one level deep,
/// files ending in `.yaml`, `.yml` or `.json`, in name order; `-` is stdin.
pub fn load(paths: &[PathBuf]) -> Result<Vec<Document>, ManifestError> {
    let mut documents = Vec::new();
    for path in paths {
        if path.as_os_str() == "-" {
            let text = read_bounded("<stdin>", std::io::stdin().lock()).map_err(|e| match e {
                Bounded::Io(source) => ManifestError::Read {
                    path: "<stdin>".into(),
                    source,
                },
                Bounded::Other(e) => e,
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
    let name = path.display().to_string();
    let file = std::fs::File::open(path).map_err(|source| read_error(path, source))?;
    let text = read_bounded(&name, file).map_err(|e| match e {
        Bounded::Io(source) => read_error(path, source),
        Bounded::Other(e) => e,
    })?;
    parse(&name, &text)
}

enum Bounded {
    Io(std::io::Error),
    Other(ManifestError),
}

/// Read at most [`MAX_SOURCE_BYTES`], refusing more without reading it.
fn read_bounded(name: &str, reader: impl Read) -> Result<String, Bounded> {
    let mut bytes = Vec::new();
    reader
        .take(MAX_SOURCE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(Bounded::Io)?;
    if bytes.len() as u64 > MAX_SOURCE_BYTES {
        return Err(Bounded::Other(ManifestError::TooLarge(name.to_string())));
    }
    String::from_utf8(bytes).map_err(|_| {
        Bounded::Other(ManifestError::NotText {
            source_name: name.to_string(),
        })
    })
}

/// The line of the first place where flow collections nest deeper than
/// [`MAX_NESTING`], if any. Brackets inside quotes, comments and plain
/// scalars outside flow collections (such as `path: /a[1]`) do not count.
fn too_deep(text: &str) -> Option<usize> {
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    for (number, line) in text.lines().enumerate() {
        // Where a value may start outside flow collections: the line's start,
        // after "- " and after ": ".
        let mut value_start = true;
        let mut previous = ' ';
        let mut chars = line.chars().peekable();
        while let Some(c) = chars.next() {
            match quote {
                Some('\'') if c == '\'' => quote = None,
                Some('"') if c == '\\' => {
                    chars.next();
                }
                Some('"') if c == '"' => quote = None,
                Some(_) => {}
                None => match c {
                    '#' if previous.is_whitespace() => break,
                    '\'' | '"' if depth > 0 || value_start => quote = Some(c),
                    '[' | '{' if depth > 0 || value_start => {
                        depth += 1;
                        if depth > MAX_NESTING {
                            return Some(number + 1);
                        }
                    }
                    ']' | '}' if depth > 0 => depth -= 1,
                    c if c.is_whitespace() => {}
                    '-' | ':' if depth == 0 && chars.peek().is_none_or(|n| n.is_whitespace()) => {
                        value_start = true;
                        previous = c;
                        continue;
                    }
                    _ => value_start = false,
                },
            }
            previous = c;
        }
    }
    None
}

/// serde_yaml reports a duplicate key at the start of its mapping; say where
/// the second one is, which is what a person has to change.
fn locate_duplicate(text: &str, message: &str) -> Option<String> {
    let key = message
        .split("duplicate entry with key \"")
        .nth(1)?
        .split('"')
        .next()?;
    let at = message.split(" at line ").nth(1)?;
    let (line, column) = at.split_once(" column ")?;
    let line: usize = line.trim().parse().ok()?;
    let column: usize = column.trim().parse().ok()?;
    let indent = column.checked_sub(1)?;
    let mut found = Vec::new();
    for (number, text_line) in text.lines().enumerate().skip(line.saturating_sub(1)) {
        let leading = text_line.len() - text_line.trim_start().len();
        let content = text_line.trim_start();
        if !found.is_empty() && leading < indent && !content.is_empty() && !content.starts_with('#')
        {
            break;
        }
        let bare = content.trim_start_matches("- ");
        if leading == indent || (number + 1 == line) {
            for candidate in [
                format!("{key}:"),
                format!("\"{key}\":"),
                format!("'{key}':"),
            ] {
                if bare.starts_with(&candidate) {
                    found.push(number + 1);
                }
            }
        }
    }
    match found.as_slice() {
        [first, second, ..] => Some(format!(
            "duplicate key {key:?} at line {second} (first at line {first})"
        )),
        _ => None,
    }
}

/// Parse a multi-document YAML (or JSON) text.
pub fn parse(name: &str, text: &str) -> Result<Vec<Document>, ManifestError> {
    if let Some(line) = too_deep(text) {
        return Err(ManifestError::Parse {
            source_name: name.to_string(),
            message: format!(
                "lists or mappings nested more than {MAX_NESTING} levels deep at line {line}"
            ),
        });
    }
    let mut documents = Vec::new();
    for (index, document) in serde_yaml::Deserializer::from_str(text).enumerate() {
        let source = format!("{name} (document {})", index + 1);
        let mut yaml: serde_yaml::Value =
            serde::Deserialize::deserialize(document).map_err(|e| {
                let message = e.to_string();
                ManifestError::Parse {
                    source_name: source.clone(),
                    message: locate_duplicate(text, &message).unwrap_or(message),
                }
            })?;
        // `<<: *anchor` merge keys, as kubectl applies them.
        yaml.apply_merge().map_err(|e| ManifestError::Parse {
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
    fn deep_nesting_and_oversized_input_are_refused_at_once() {
        let deep = "[".repeat(200_000);
        let started = std::time::Instant::now();
        let err = parse("deep.yaml", &deep).expect_err("too deep");
        assert!(
            err.to_string().contains("nested more than 64 levels"),
            "{err}"
        );
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
        let err = parse("deep.yaml", &format!("a: {}", "{x: ".repeat(65))).expect_err("too deep");
        assert!(err.to_string().contains("line 1"), "{err}");
        // Brackets in values, quotes and comments are not nesting.
        let fine: String = (0..40)
            .map(|i| format!("p{i}: /a[1]\nq{i}: '[[[[['\nr{i}: \"{{{{{{{{\"  # [[[[[\n"))
            .collect();
        assert!(
            parse("ok.yaml", &fine).is_ok(),
            "{:?}",
            parse("ok.yaml", &fine)
        );

        let err = read_bounded("/dev/zero", std::io::repeat(0)).expect_err("too large");
        assert!(matches!(err, Bounded::Other(ManifestError::TooLarge(_))));
    }

    #[test]
    fn merge_keys_apply_and_duplicate_keys_point_at_the_duplicate() {
        let docs = parse(
            "m.yaml",
            "base: &b\n  x: 1\n  y: 2\nderived:\n  <<: *b\n  y: 3\n",
        )
        .expect("merges");
        assert_eq!(
            docs[0].object["derived"],
            serde_json::json!({"x": 1, "y": 3})
        );
        let err =
            parse("d.yaml", "spec:\n  name: a\n  ttl: 60\n  name: b\n").expect_err("duplicate");
        assert!(
            err.to_string()
                .contains("duplicate key \"name\" at line 4 (first at line 2)"),
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
