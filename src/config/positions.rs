//! Where each YAML key sits in the file: a map from dotted path (`providers.openai.api_key`,
//! `keys[0].name`) to line and column, so that every problem can be reported as
//! `file:line:col: path: message`.

use std::collections::HashMap;
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::Marker;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    pub line: usize,
    pub col: usize,
}

#[derive(Debug, Default)]
pub struct Positions {
    by_path: HashMap<String, Position>,
}

impl Positions {
    /// Indexes `text`; on a syntax error, returns what was indexed before it.
    pub fn index(text: &str) -> Positions {
        let mut recv = Receiver::default();
        let _ = Parser::new_from_str(text).load(&mut recv, false);
        Positions { by_path: recv.by_path }
    }

    /// The position of `path`, or of its nearest indexed ancestor.
    pub fn find(&self, path: &str) -> Position {
        let mut probe = path;
        loop {
            if let Some(pos) = self.by_path.get(probe) {
                return *pos;
            }
            match probe.rfind(['.', '[']) {
                Some(cut) => probe = &probe[..cut],
                None => return Position { line: 1, col: 1 },
            }
        }
    }
}

/// Joins a child segment onto a dotted path.
pub fn join(parent: &str, child: &str) -> String {
    if parent.is_empty() {
        child.to_string()
    } else {
        format!("{parent}.{child}")
    }
}

pub fn join_index(parent: &str, index: usize) -> String {
    format!("{parent}[{index}]")
}

enum Frame {
    Map { path: String, pending_key: Option<String> },
    Seq { path: String, next: usize },
}

#[derive(Default)]
struct Receiver {
    stack: Vec<Frame>,
    by_path: HashMap<String, Position>,
}

impl Receiver {
    /// Called for each node start; returns the path of the node just started, if it is a value.
    fn node_path(&mut self, scalar: Option<&str>, mark: Marker, is_mapping: bool) -> Option<String> {
        let pos = Position { line: mark.line(), col: mark.col() + 1 };
        match self.stack.last_mut() {
            None => Some(String::new()),
            Some(Frame::Map { path, pending_key }) => match pending_key.take() {
                None => {
                    let key = scalar.unwrap_or_default();
                    let child = join(path, key);
                    self.by_path.entry(child).or_insert(pos);
                    // A block mapping's own start marker is unreliable: use its first key.
                    self.by_path.entry(path.clone()).or_insert(pos);
                    *pending_key = Some(key.to_string());
                    None
                }
                Some(key) => Some(join(path, &key)),
            },
            Some(Frame::Seq { path, next }) => {
                let child = join_index(path, *next);
                *next += 1;
                if !is_mapping {
                    self.by_path.entry(child.clone()).or_insert(pos);
                }
                Some(child)
            }
        }
    }
}

impl MarkedEventReceiver for Receiver {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        match ev {
            Event::Scalar(value, ..) => {
                self.node_path(Some(&value), mark, false);
            }
            Event::Alias(_) => {
                self.node_path(None, mark, false);
            }
            Event::MappingStart(..) => {
                if let Some(path) = self.node_path(None, mark, true) {
                    self.stack.push(Frame::Map { path, pending_key: None });
                } else {
                    // A complex (mapping) key: index its contents under a placeholder.
                    self.stack.push(Frame::Map { path: "?".into(), pending_key: None });
                }
            }
            Event::SequenceStart(..) => {
                let path = self.node_path(None, mark, false).unwrap_or_else(|| "?".into());
                self.stack.push(Frame::Seq { path, next: 0 });
            }
            Event::MappingEnd | Event::SequenceEnd => {
                self.stack.pop();
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indexes_nested_keys_and_sequence_items() {
        let text = "server:\n  listen: x\nkeys:\n  - name: a\n  - name: b\n    team: t\n";
        let p = Positions::index(text);
        assert_eq!(p.find("server.listen"), Position { line: 2, col: 3 });
        assert_eq!(p.find("keys[1].team"), Position { line: 6, col: 5 });
        assert_eq!(p.find("keys[1]"), Position { line: 5, col: 5 });
        // Unknown paths fall back to the nearest ancestor.
        assert_eq!(p.find("keys[1].team.deeper"), Position { line: 6, col: 5 });
    }

    #[test]
    fn flow_mappings_are_indexed() {
        let p = Positions::index("providers:\n  a: { type: mock, reply: hi }\n");
        assert_eq!(p.find("providers.a.reply"), Position { line: 2, col: 20 });
    }
}
