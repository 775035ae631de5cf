//! Where this SDK deliberately goes beyond Coder's contract, declared in one list.
//!
//! The swagger conformance test fails on any emitted field or enum string that Coder's
//! definition lacks, unless it is declared here. Keep the list short and every entry justified.

/// One deliberate extension of a Coder definition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Addition {
    /// An extra property on an object definition.
    Field {
        /// The swagger definition, e.g. `codersdk.Chat`.
        definition: &'static str,
        /// The property name as emitted.
        field: &'static str,
        /// Its schema, as swagger JSON text (e.g. `{"type":"integer"}`).
        schema: &'static str,
        /// Why we added it.
        why: &'static str,
    },
    /// A property whose real wire type differs from what the swagger document says (the real
    /// server's behaviour wins, as `shared/spec/README.md` records).
    Override {
        /// The swagger definition.
        definition: &'static str,
        /// The property name.
        field: &'static str,
        /// The schema the real server uses, as swagger JSON text.
        schema: &'static str,
        /// Where the difference is documented.
        why: &'static str,
    },
    /// An extra string on an enum definition (or on a property's inline enum, written
    /// `definition.property`).
    EnumValue {
        /// The swagger definition, e.g. `codersdk.ChatStatus`.
        definition: &'static str,
        /// The extra value.
        value: &'static str,
        /// Why we added it.
        why: &'static str,
    },
}

/// Every addition this SDK makes to Coder's contract.
pub const ADDITIONS: &[Addition] = &[
    Addition::Override {
        definition: "codersdk.ChatMessagePart",
        field: "args",
        schema: r#"{"type":"object","additionalProperties":true}"#,
        why: "Go json.RawMessage: the swagger says a byte array, the real server sends the tool's JSON arguments",
    },
    Addition::Override {
        definition: "codersdk.ChatMessagePart",
        field: "result",
        schema: r#"{"type":"object","additionalProperties":true}"#,
        why: "Go json.RawMessage: the swagger says a byte array, the real server sends the tool's JSON result",
    },
    Addition::EnumValue {
        definition: "codersdk.CreateTemplateVersionRequest.provisioner",
        value: "process",
        why: "the reference server's local-process provisioner",
    },
    Addition::EnumValue {
        definition: "codersdk.Template.provisioner",
        value: "echo",
        why: "Coder's own test provisioner; real servers report it on echo templates",
    },
    Addition::EnumValue {
        definition: "codersdk.Template.provisioner",
        value: "process",
        why: "the reference server's local-process provisioner",
    },
    Addition::Field {
        definition: "codersdk.Chat",
        field: "snapshot_version",
        schema: r#"{"type":"integer"}"#,
        why: "Era C watermark of the chat execution state: a client applies the newer of a REST snapshot and a stream event, whichever path it came by.",
    },
    Addition::Field {
        definition: "codersdk.Chat",
        field: "history_version",
        schema: r#"{"type":"integer"}"#,
        why: "Era C watermark of the message history, so a stale history read or message event is recognised and ignored.",
    },
    Addition::Field {
        definition: "codersdk.Chat",
        field: "queue_version",
        schema: r#"{"type":"integer"}"#,
        why: "Era C watermark of the queue, so a stale queue (cached REST page or delayed queue_update) never overwrites a newer one.",
    },
    Addition::Field {
        definition: "codersdk.ChatMessagesResponse",
        field: "snapshot_version",
        schema: r#"{"type":"integer"}"#,
        why: "Era C watermark of the chat execution state: a client applies the newer of a REST snapshot and a stream event, whichever path it came by.",
    },
    Addition::Field {
        definition: "codersdk.ChatMessagesResponse",
        field: "history_version",
        schema: r#"{"type":"integer"}"#,
        why: "Era C watermark of the message history, so a stale history read or message event is recognised and ignored.",
    },
    Addition::Field {
        definition: "codersdk.ChatMessagesResponse",
        field: "queue_version",
        schema: r#"{"type":"integer"}"#,
        why: "Era C watermark of the queue, so a stale queue (cached REST page or delayed queue_update) never overwrites a newer one.",
    },
    Addition::Field {
        definition: "codersdk.ChatStreamEvent",
        field: "snapshot_version",
        schema: r#"{"type":"integer"}"#,
        why: "Era C watermark of the chat execution state: a client applies the newer of a REST snapshot and a stream event, whichever path it came by.",
    },
    Addition::Field {
        definition: "codersdk.ChatStreamEvent",
        field: "history_version",
        schema: r#"{"type":"integer"}"#,
        why: "Era C watermark of the message history, so a stale history read or message event is recognised and ignored.",
    },
    Addition::Field {
        definition: "codersdk.ChatStreamEvent",
        field: "queue_version",
        schema: r#"{"type":"integer"}"#,
        why: "Era C watermark of the queue, so a stale queue (cached REST page or delayed queue_update) never overwrites a newer one.",
    },
    Addition::EnumValue {
        definition: "codersdk.ChatStatus",
        value: "pending",
        why: "Era A/B status (waiting for a worker); older Coder servers still send it and it counts as active.",
    },
    Addition::EnumValue {
        definition: "codersdk.ChatStatus",
        value: "paused",
        why: "Era A/B status; older Coder servers still send it.",
    },
    Addition::EnumValue {
        definition: "codersdk.ChatStatus",
        value: "completed",
        why: "Era A/B status; older Coder servers still send it (e.g. for sub-agent chats).",
    },
];
