//! The streaming preview of the in-progress assistant turn, and the buffer that coalesces
//! `message_part` deltas until the next tick.

use crate::model::{ChatMessagePart, ChatMessagePartType};

/// One rendered block of the preview.
#[derive(Debug, Clone, PartialEq)]
pub enum PreviewBlock {
    /// Consecutive text deltas, concatenated.
    Text(String),
    /// Consecutive reasoning deltas, concatenated.
    Reasoning(String),
    /// A tool call and, once it streams, its result.
    Tool {
        /// The tool call id.
        tool_call_id: String,
        /// The tool name.
        tool_name: String,
        /// Concatenated argument deltas.
        args: String,
        /// Concatenated result deltas, once any arrived.
        result: Option<String>,
        /// Whether the result is an error.
        is_error: bool,
    },
    /// Any other part, kept as sent.
    Part(Box<ChatMessagePart>),
}

/// The preview of the assistant turn being streamed.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct StreamPreview {
    /// The blocks, in arrival order.
    pub blocks: Vec<PreviewBlock>,
}

impl StreamPreview {
    /// The concatenated text of every text block.
    pub fn text(&self) -> String {
        self.blocks
            .iter()
            .filter_map(|block| match block {
                PreviewBlock::Text(text) => Some(text.as_str()),
                _ => None,
            })
            .collect()
    }

    /// Applies one delta.
    pub(crate) fn apply(&mut self, part: &ChatMessagePart) {
        let delta = part.text.as_deref().unwrap_or_default();
        match (&part.part_type, self.blocks.last_mut()) {
            (ChatMessagePartType::Text, Some(PreviewBlock::Text(text)))
            | (ChatMessagePartType::Reasoning, Some(PreviewBlock::Reasoning(text))) => {
                text.push_str(delta)
            }
            (ChatMessagePartType::Text, _) => {
                self.blocks.push(PreviewBlock::Text(delta.to_owned()))
            }
            (ChatMessagePartType::Reasoning, _) => {
                self.blocks.push(PreviewBlock::Reasoning(delta.to_owned()))
            }
            (ChatMessagePartType::ToolCall | ChatMessagePartType::ToolResult, _) => {
                self.apply_tool(part)
            }
            _ => self.blocks.push(PreviewBlock::Part(Box::new(part.clone()))),
        }
    }

    fn apply_tool(&mut self, part: &ChatMessagePart) {
        let id = part.tool_call_id.clone().unwrap_or_default();
        let existing = self.blocks.iter_mut().rev().find_map(|block| match block {
            PreviewBlock::Tool {
                tool_call_id,
                args,
                result,
                is_error,
                ..
            } if *tool_call_id == id => Some((args, result, is_error)),
            _ => None,
        });
        let (args, result, is_error) = match existing {
            Some(found) => found,
            None => {
                self.blocks.push(PreviewBlock::Tool {
                    tool_call_id: id,
                    tool_name: part.tool_name.clone().unwrap_or_default(),
                    args: String::new(),
                    result: None,
                    is_error: false,
                });
                match self.blocks.last_mut() {
                    Some(PreviewBlock::Tool {
                        args,
                        result,
                        is_error,
                        ..
                    }) => (args, result, is_error),
                    _ => return,
                }
            }
        };
        if part.part_type == ChatMessagePartType::ToolCall {
            match (&part.args_delta, &part.args) {
                (Some(delta), _) => args.push_str(delta),
                (None, Some(full)) => *args = full.to_string(),
                (None, None) => {}
            }
        } else {
            let text = result.get_or_insert_with(String::new);
            if part.result_reset {
                text.clear();
            }
            match (&part.result_delta, &part.result) {
                (Some(delta), _) => text.push_str(delta),
                (None, Some(full)) => *text = full.to_string(),
                (None, None) => {}
            }
            *is_error |= part.is_error;
        }
    }
}

/// Parts received but not yet rendered (flushed on the next tick, or before a `message`).
#[derive(Debug, Clone, Default)]
pub(crate) struct PartBuffer {
    parts: Vec<ChatMessagePart>,
}

impl PartBuffer {
    pub(crate) fn push(&mut self, part: ChatMessagePart) {
        self.parts.push(part);
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.parts.is_empty()
    }

    pub(crate) fn discard(&mut self) {
        self.parts.clear();
    }

    /// Moves every buffered part into `preview` (creating it); returns whether any moved.
    pub(crate) fn flush_into(&mut self, preview: &mut Option<StreamPreview>) -> bool {
        if self.parts.is_empty() {
            return false;
        }
        let target = preview.get_or_insert_with(StreamPreview::default);
        for part in self.parts.drain(..) {
            target.apply(&part);
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_deltas_merge_and_tool_deltas_group_by_call_id() {
        let mut preview = StreamPreview::default();
        let tool = |kind, delta: &str| ChatMessagePart {
            tool_call_id: Some("c1".into()),
            tool_name: Some("execute".into()),
            args_delta: (kind == ChatMessagePartType::ToolCall).then(|| delta.to_owned()),
            result_delta: (kind == ChatMessagePartType::ToolResult).then(|| delta.to_owned()),
            ..ChatMessagePart::new(kind)
        };
        for part in [
            ChatMessagePart::text("hello "),
            ChatMessagePart::text("world"),
            tool(ChatMessagePartType::ToolCall, "{\"cmd\":"),
            tool(ChatMessagePartType::ToolCall, "\"ls\"}"),
            tool(ChatMessagePartType::ToolResult, "ok"),
        ] {
            preview.apply(&part);
        }
        assert_eq!(
            preview.blocks,
            vec![
                PreviewBlock::Text("hello world".into()),
                PreviewBlock::Tool {
                    tool_call_id: "c1".into(),
                    tool_name: "execute".into(),
                    args: "{\"cmd\":\"ls\"}".into(),
                    result: Some("ok".into()),
                    is_error: false,
                },
            ]
        );
    }
}
