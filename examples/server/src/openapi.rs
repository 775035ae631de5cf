//! The server's own OpenAPI (Swagger 2.0) document, served at `/api/v2/openapi.json`.
//!
//! Schemas are derived from the code: every request and response type is traced through its
//! serde `Deserialize` implementation (`serde-reflection`), so property names and JSON types
//! are exactly what the wire types accept and emit. Operations come from the route registry
//! ([`crate::api::routes`]), the same declarations the router is built from.

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};
use serde_reflection::{ContainerFormat, Format, Registry, Tracer, TracerConfig};

use crate::api::VERSION;
use crate::api::routes::{Body, routes};

/// Traces `T` (and every type it contains) into `tracer`; returns `T`'s format, a
/// [`Format::TypeName`] for a struct or enum.
pub(crate) fn trace<T: DeserializeOwned>(tracer: &mut Tracer) -> Result<Format, String> {
    tracer
        .trace_simple_type::<T>()
        .map(|(format, _)| format)
        .map_err(|e| format!("{}: {e}", std::any::type_name::<T>()))
}

/// A tracer for the wire types.
fn tracer() -> Tracer {
    // Uuids deserialize from 16 bytes when not human-readable; times from an RFC 3339 string
    // (and every other string accepts it too).
    let config = TracerConfig::default()
        .default_borrowed_bytes_value(&[0u8; 16])
        .default_byte_buf_value(vec![0u8; 16])
        .default_borrowed_str_value("2026-01-01T00:00:00Z")
        .default_string_value("2026-01-01T00:00:00Z".to_owned());
    Tracer::new(config)
}

/// The definition name of a Rust type (Coder's `codersdk.` namespace).
pub fn definition_name(rust: &str) -> String {
    format!("codersdk.{rust}")
}

fn schema(format: &Format) -> Value {
    match format {
        Format::TypeName(name) => {
            json!({"$ref": format!("#/definitions/{}", definition_name(name))})
        }
        Format::Bool => json!({"type": "boolean"}),
        Format::I8
        | Format::I16
        | Format::I32
        | Format::I64
        | Format::I128
        | Format::U8
        | Format::U16
        | Format::U32
        | Format::U64
        | Format::U128 => {
            json!({"type": "integer"})
        }
        Format::F32 | Format::F64 => json!({"type": "number"}),
        Format::Str | Format::Char => json!({"type": "string"}),
        // Only UUIDs deserialize from bytes in the traced types.
        Format::Bytes => json!({"type": "string", "format": "uuid"}),
        Format::Option(inner) => {
            let mut s = schema(inner);
            if let Some(obj) = s.as_object_mut() {
                obj.insert("x-nullable".to_owned(), Value::Bool(true));
            }
            s
        }
        Format::Seq(inner) => json!({"type": "array", "items": schema(inner)}),
        Format::Map { value, .. } => {
            json!({"type": "object", "additionalProperties": schema(value)})
        }
        _ => json!({}),
    }
}

fn definitions(registry: &Registry) -> Map<String, Value> {
    let mut out = Map::new();
    for (name, container) in registry {
        let def = match container {
            ContainerFormat::Struct(fields) => {
                let props: Map<String, Value> = fields
                    .iter()
                    .map(|f| (f.name.clone(), schema(&f.value)))
                    .collect();
                json!({"type": "object", "properties": props})
            }
            ContainerFormat::NewTypeStruct(inner) => schema(inner),
            _ => json!({"type": "object"}),
        };
        out.insert(definition_name(name), def);
    }
    out
}

/// The schema of a body, tracing its type into `tracer`.
fn body_schema(body: Body, tracer: &mut Tracer) -> Result<Option<Value>, String> {
    Ok(match body {
        Body::One(ty) => Some(schema(&ty.trace(tracer)?)),
        Body::Many(ty) => Some(schema(&Format::Seq(Box::new(ty.trace(tracer)?)))),
        Body::Raw(_) => Some(json!({"type": "string", "format": "binary"})),
        Body::None | Body::Stream => None,
    })
}

/// Builds the document (the server builds it once at start-up).
pub fn document() -> Result<Value, String> {
    let mut tracer = tracer();
    let mut paths: BTreeMap<String, Map<String, Value>> = BTreeMap::new();
    for r in routes() {
        let mut parameters = Vec::new();
        for seg in r.path.split('/') {
            if let Some(name) = seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                parameters
                    .push(json!({"name": name, "in": "path", "required": true, "type": "string"}));
            }
        }
        for q in r.query {
            parameters.push(
                json!({"name": q.name(), "in": "query", "required": false, "type": q.json_type()}),
            );
        }
        let method = r.method.as_str();
        let mut op = Map::new();
        op.insert("summary".into(), json!(r.summary));
        if !r.note.is_empty() {
            op.insert("description".into(), json!(r.note));
        }
        op.insert(
            "operationId".into(),
            json!(format!(
                "{method}{}",
                r.path.replace(['/', '{', '}', '-', '.'], "_")
            )),
        );
        let request = body_schema(r.request, &mut tracer)?;
        match r.request {
            Body::One(_) | Body::Many(_) => {
                parameters.push(
                    json!({"name": "request", "in": "body", "required": true, "schema": request}),
                );
                op.insert("consumes".into(), json!(["application/json"]));
            }
            Body::Raw(content_type) => {
                parameters.push(
                    json!({"name": "file", "in": "body", "required": true, "schema": request}),
                );
                op.insert("consumes".into(), json!([content_type]));
            }
            Body::None | Body::Stream => {}
        }
        op.insert("parameters".into(), Value::Array(parameters));
        let produces = match r.response {
            Body::Raw(content_type) => content_type,
            Body::Stream => "text/event-stream",
            _ => "application/json",
        };
        op.insert("produces".into(), json!([produces]));
        let mut ok = json!({"description": "success"});
        if let Some(s) = body_schema(r.response, &mut tracer)? {
            ok["schema"] = s;
        }
        op.insert(
            "responses".into(),
            json!({
                r.status.to_string(): ok,
                "default": {"description": "error", "schema": {"$ref": "#/definitions/codersdk.Response"}},
            }),
        );
        if r.auth {
            op.insert("security".into(), json!([{"CoderSessionToken": []}]));
        }
        paths
            .entry(format!("/api/v2{}", r.path))
            .or_default()
            .insert(method.to_owned(), Value::Object(op));
    }
    Ok(json!({
        "swagger": "2.0",
        "info": {
            "title": "coder-rs reference server API",
            "description": "The subset of Coder's API (v2) that the reference server serves.",
            "version": VERSION,
        },
        "basePath": "/",
        "securityDefinitions": {
            "CoderSessionToken": {"type": "apiKey", "in": "header", "name": "Coder-Session-Token"}
        },
        "paths": paths,
        "definitions": definitions(&tracer.registry().map_err(|e| e.to_string())?),
    }))
}
