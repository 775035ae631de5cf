//! Conformance of the wire model with Coder's own contract (`shared/spec/coder-swagger.json`).
//!
//! For every registered type:
//! - a complete example document built from the swagger definition (every property, valid enum
//!   values, nested definitions) must decode;
//! - every field the Rust type knows must be a property of the definition (or a declared
//!   addition): a renamed or misspelled field fails, named;
//! - a fully populated value (the complete example plus every declared addition) must emit
//!   every field the type knows, each with the definition's JSON type and enum strings.
//!
//! For every registered enum, each variant must be one of the definition's strings (or a
//! declared addition), and for complete enums every string of the definition must be known.

#![allow(clippy::expect_used)] // test support code: a malformed contract is a test failure

use std::collections::BTreeSet;
use std::path::PathBuf;

use coder_core::model::contract::{ADDITIONS, Addition};
use coder_core::model::*;
use coder_core::wire::WireEnum;
use serde::de::{self, DeserializeOwned, Visitor};
use serde::{Deserializer, Serialize};
use serde_json::{Map, Value, json};

// ---------------------------------------------------------------------------------------------
// The registry: every modelled type and the definition it must match.
// ---------------------------------------------------------------------------------------------

fn registry() -> Vec<Check> {
    vec![
        // common, users, organizations, files
        object::<Response>("codersdk.Response"),
        object::<ValidationError>("codersdk.ValidationError"),
        object::<BuildInfoResponse>("codersdk.BuildInfoResponse"),
        object::<User>("codersdk.User"),
        object::<SlimRole>("codersdk.SlimRole"),
        object::<GetUsersResponse>("codersdk.GetUsersResponse"),
        object::<CreateFirstUserRequest>("codersdk.CreateFirstUserRequest"),
        object::<CreateFirstUserResponse>("codersdk.CreateFirstUserResponse"),
        object::<CreateUserRequestWithOrgs>("codersdk.CreateUserRequestWithOrgs"),
        object::<LoginWithPasswordRequest>("codersdk.LoginWithPasswordRequest"),
        object::<LoginWithPasswordResponse>("codersdk.LoginWithPasswordResponse"),
        object::<APIKey>("codersdk.APIKey"),
        object::<CreateTokenRequest>("codersdk.CreateTokenRequest"),
        object::<GenerateAPIKeyResponse>("codersdk.GenerateAPIKeyResponse"),
        object::<Organization>("codersdk.Organization"),
        object::<OrganizationMember>("codersdk.OrganizationMember"),
        object::<OrganizationMemberWithUserData>("codersdk.OrganizationMemberWithUserData"),
        object::<UploadResponse>("codersdk.UploadResponse"),
        enumeration::<UserStatus>("codersdk.UserStatus", Completeness::Full),
        enumeration::<LoginType>("codersdk.LoginType", Completeness::Full),
        enumeration::<APIKeyScope>("codersdk.APIKeyScope", Completeness::Partial),
        // templates and parameters
        object::<Template>("codersdk.Template"),
        object::<TemplateAutostartRequirement>("codersdk.TemplateAutostartRequirement"),
        object::<TemplateAutostopRequirement>("codersdk.TemplateAutostopRequirement"),
        object::<CreateTemplateRequest>("codersdk.CreateTemplateRequest"),
        object::<UpdateTemplateMeta>("codersdk.UpdateTemplateMeta"),
        object::<MinimalUser>("codersdk.MinimalUser"),
        object::<MatchedProvisioners>("codersdk.MatchedProvisioners"),
        object::<TemplateVersion>("codersdk.TemplateVersion"),
        object::<CreateTemplateVersionRequest>("codersdk.CreateTemplateVersionRequest"),
        object::<UpdateActiveTemplateVersion>("codersdk.UpdateActiveTemplateVersion"),
        object::<TemplateVersionParameter>("codersdk.TemplateVersionParameter"),
        object::<TemplateVersionParameterOption>("codersdk.TemplateVersionParameterOption"),
        object::<WorkspaceBuildParameter>("codersdk.WorkspaceBuildParameter"),
        enumeration::<ProvisionerType>(
            "codersdk.CreateTemplateVersionRequest.provisioner",
            Completeness::Full,
        ),
        enumeration::<ProvisionerStorageMethod>(
            "codersdk.ProvisionerStorageMethod",
            Completeness::Full,
        ),
        enumeration::<TemplateVersionWarning>(
            "codersdk.TemplateVersionWarning",
            Completeness::Full,
        ),
        enumeration::<ParameterType>("codersdk.TemplateVersionParameter.type", Completeness::Full),
        enumeration::<ValidationMonotonicOrder>(
            "codersdk.ValidationMonotonicOrder",
            Completeness::Full,
        ),
        // jobs
        object::<ProvisionerJob>("codersdk.ProvisionerJob"),
        object::<ProvisionerJobInput>("codersdk.ProvisionerJobInput"),
        object::<ProvisionerJobMetadata>("codersdk.ProvisionerJobMetadata"),
        object::<ProvisionerJobLog>("codersdk.ProvisionerJobLog"),
        enumeration::<ProvisionerJobStatus>("codersdk.ProvisionerJobStatus", Completeness::Partial),
        enumeration::<ProvisionerJobType>("codersdk.ProvisionerJobType", Completeness::Full),
        enumeration::<JobErrorCode>("codersdk.JobErrorCode", Completeness::Full),
        enumeration::<LogLevel>("codersdk.LogLevel", Completeness::Full),
        enumeration::<LogSource>("codersdk.LogSource", Completeness::Full),
        // workspaces and builds
        object::<Workspace>("codersdk.Workspace"),
        object::<WorkspaceHealth>("codersdk.WorkspaceHealth"),
        object::<WorkspaceBuild>("codersdk.WorkspaceBuild"),
        object::<WorkspacesResponse>("codersdk.WorkspacesResponse"),
        object::<CreateWorkspaceRequest>("codersdk.CreateWorkspaceRequest"),
        object::<CreateWorkspaceBuildRequest>("codersdk.CreateWorkspaceBuildRequest"),
        object::<UpdateWorkspaceRequest>("codersdk.UpdateWorkspaceRequest"),
        object::<UpdateWorkspaceTTLRequest>("codersdk.UpdateWorkspaceTTLRequest"),
        object::<UpdateWorkspaceAutostartRequest>("codersdk.UpdateWorkspaceAutostartRequest"),
        object::<PutExtendWorkspaceRequest>("codersdk.PutExtendWorkspaceRequest"),
        enumeration::<WorkspaceTransition>("codersdk.WorkspaceTransition", Completeness::Full),
        enumeration::<WorkspaceStatus>("codersdk.WorkspaceStatus", Completeness::Full),
        enumeration::<BuildReason>("codersdk.BuildReason", Completeness::Full),
        enumeration::<AutomaticUpdates>("codersdk.AutomaticUpdates", Completeness::Full),
        enumeration::<CreateWorkspaceBuildReason>(
            "codersdk.CreateWorkspaceBuildReason",
            Completeness::Full,
        ),
        enumeration::<ProvisionerLogLevel>("codersdk.ProvisionerLogLevel", Completeness::Full),
        // resources, agents, apps
        object::<WorkspaceResource>("codersdk.WorkspaceResource"),
        object::<WorkspaceResourceMetadata>("codersdk.WorkspaceResourceMetadata"),
        object::<WorkspaceAgent>("codersdk.WorkspaceAgent"),
        object::<WorkspaceAgentHealth>("codersdk.WorkspaceAgentHealth"),
        object::<WorkspaceAgentScript>("codersdk.WorkspaceAgentScript"),
        object::<WorkspaceAgentLogSource>("codersdk.WorkspaceAgentLogSource"),
        object::<WorkspaceAgentLog>("codersdk.WorkspaceAgentLog"),
        object::<WorkspaceApp>("codersdk.WorkspaceApp"),
        object::<Healthcheck>("codersdk.Healthcheck"),
        enumeration::<WorkspaceAgentStatus>("codersdk.WorkspaceAgentStatus", Completeness::Full),
        enumeration::<WorkspaceAgentLifecycle>(
            "codersdk.WorkspaceAgentLifecycle",
            Completeness::Full,
        ),
        enumeration::<WorkspaceAgentStartupScriptBehavior>(
            "codersdk.WorkspaceAgentStartupScriptBehavior",
            Completeness::Full,
        ),
        enumeration::<WorkspaceAgentScriptStatus>(
            "codersdk.WorkspaceAgentScriptStatus",
            Completeness::Full,
        ),
        enumeration::<DisplayApp>("codersdk.DisplayApp", Completeness::Full),
        enumeration::<WorkspaceAppHealth>("codersdk.WorkspaceAppHealth", Completeness::Full),
        enumeration::<WorkspaceAppSharingLevel>(
            "codersdk.WorkspaceAppSharingLevel",
            Completeness::Full,
        ),
        enumeration::<WorkspaceAppOpenIn>("codersdk.WorkspaceAppOpenIn", Completeness::Full),
        // chats
        object::<Chat>("codersdk.Chat"),
        object::<ChatError>("codersdk.ChatError"),
        object::<ChatMessage>("codersdk.ChatMessage"),
        object::<ChatMessagePart>("codersdk.ChatMessagePart"),
        object::<ChatMessageUsage>("codersdk.ChatMessageUsage"),
        object::<ChatQueuedMessage>("codersdk.ChatQueuedMessage"),
        object::<ChatInputPart>("codersdk.ChatInputPart"),
        object::<CreateChatRequest>("codersdk.CreateChatRequest"),
        object::<CreateChatMessageRequest>("codersdk.CreateChatMessageRequest"),
        object::<CreateChatMessageResponse>("codersdk.CreateChatMessageResponse"),
        object::<EditChatMessageRequest>("codersdk.EditChatMessageRequest"),
        object::<EditChatMessageResponse>("codersdk.EditChatMessageResponse"),
        object::<ChatMessagesResponse>("codersdk.ChatMessagesResponse"),
        object::<ChatStreamEvent>("codersdk.ChatStreamEvent"),
        object::<ChatStreamMessagePart>("codersdk.ChatStreamMessagePart"),
        object::<ChatStreamStatus>("codersdk.ChatStreamStatus"),
        object::<ChatStreamRetry>("codersdk.ChatStreamRetry"),
        object::<ChatStreamToolCall>("codersdk.ChatStreamToolCall"),
        object::<ChatStreamActionRequired>("codersdk.ChatStreamActionRequired"),
        enumeration::<ChatStatus>("codersdk.ChatStatus", Completeness::Full),
        enumeration::<ChatMessageRole>("codersdk.ChatMessageRole", Completeness::Full),
        enumeration::<ChatMessagePartType>("codersdk.ChatMessagePartType", Completeness::Partial),
        enumeration::<ChatInputPartType>("codersdk.ChatInputPartType", Completeness::Partial),
        enumeration::<ChatBusyBehavior>("codersdk.ChatBusyBehavior", Completeness::Full),
        enumeration::<ChatErrorKind>("codersdk.ChatErrorKind", Completeness::Partial),
        enumeration::<ChatStreamEventType>("codersdk.ChatStreamEventType", Completeness::Full),
    ]
}

// ---------------------------------------------------------------------------------------------
// The tests.
// ---------------------------------------------------------------------------------------------

#[test]
fn every_modelled_type_conforms_to_coders_swagger() {
    let swagger = Swagger::load();
    let mut failures = Vec::new();
    let registry = registry();
    for check in &registry {
        failures.extend((check.run)(&swagger, check.definition));
    }
    assert!(
        failures.is_empty(),
        "{} of {} modelled types drift from Coder's contract:\n  {}",
        failures.len(),
        registry.len(),
        failures.join("\n  ")
    );
}

#[test]
fn every_declared_addition_is_really_absent_from_coders_definition() {
    let swagger = Swagger::load();
    for addition in ADDITIONS {
        match *addition {
            Addition::Field {
                definition, field, ..
            } => {
                let def = swagger.definition(definition);
                assert!(
                    def["properties"].get(field).is_none(),
                    "{definition}.{field} is declared as our addition but Coder has it: remove it from ADDITIONS"
                );
            }
            Addition::Override {
                definition, field, ..
            } => {
                let def = swagger.definition(definition);
                assert!(
                    def["properties"].get(field).is_some(),
                    "{definition}.{field} is declared as an override but Coder has no such property"
                );
            }
            Addition::EnumValue {
                definition, value, ..
            } => {
                let values = swagger.enum_values(definition);
                assert!(
                    !values.contains(&value.to_owned()),
                    "{definition} value {value:?} is declared as our addition but Coder has it"
                );
            }
        }
    }
}

/// The checker itself must catch drift; otherwise the test above proves nothing.
#[test]
fn the_checker_names_a_drifted_field() {
    #[derive(Debug, Default, Serialize, serde::Deserialize)]
    #[serde(default)]
    struct DriftedResponse {
        message: String,
        detials: String,
    }
    let swagger = Swagger::load();
    let failures = check_object::<DriftedResponse>(&swagger, "codersdk.Response");
    assert_eq!(
        failures,
        vec![
            "codersdk.Response.detials: field is not in Coder's definition (nor declared in ADDITIONS)"
                .to_owned(),
            "codersdk.Response.detials: emitted but not in Coder's definition (nor declared in ADDITIONS)"
                .to_owned(),
        ]
    );

    #[derive(Debug, Default, Serialize, serde::Deserialize)]
    #[serde(default)]
    struct WrongType {
        message: i64,
    }
    let failures = check_object::<WrongType>(&swagger, "codersdk.Response");
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert!(
        failures[0].starts_with("codersdk.Response: complete example does not decode"),
        "{failures:?}"
    );

    coder_core::wire_enum! {
        /// A status with a misspelled value.
        enum Drifted { Running = "running", Stoped = "stoped" }
    }
    let failures =
        check_enum::<Drifted>(&swagger, "codersdk.WorkspaceStatus", Completeness::Partial);
    assert_eq!(
        failures,
        vec![
            "codersdk.WorkspaceStatus: variant \"stoped\" is not one of Coder's values".to_owned()
        ]
    );
}

// ---------------------------------------------------------------------------------------------
// The checker.
// ---------------------------------------------------------------------------------------------

/// Checks one definition; returns the failures, each naming the field at fault.
type Runner = Box<dyn Fn(&Swagger, &str) -> Vec<String>>;

struct Check {
    definition: &'static str,
    run: Runner,
}

#[derive(Clone, Copy)]
enum Completeness {
    /// Every value Coder defines must be a known variant.
    Full,
    /// Coder has more values than a client needs; unknown ones decode as `Unknown`.
    Partial,
}

fn object<T: DeserializeOwned + Serialize + 'static>(definition: &'static str) -> Check {
    Check {
        definition,
        run: Box::new(|s, d| check_object::<T>(s, d)),
    }
}

fn enumeration<E: WireEnum + DeserializeOwned + Serialize>(
    definition: &'static str,
    completeness: Completeness,
) -> Check {
    Check {
        definition,
        run: Box::new(move |s, d| check_enum::<E>(s, d, completeness)),
    }
}

fn check_object<T: DeserializeOwned + Serialize>(swagger: &Swagger, def_name: &str) -> Vec<String> {
    let def = swagger.definition(def_name);
    let mut failures = Vec::new();

    // (a) Coder's complete document decodes.
    let example = swagger.example(&json!({ "$ref": format!("#/definitions/{def_name}") }), 0);
    if let Err(e) = serde_json::from_value::<T>(example.clone()) {
        return vec![format!(
            "{def_name}: complete example does not decode: {e}\n    {example}"
        )];
    }

    // (b) every field we know is Coder's (or a declared addition).
    let fields = struct_fields::<T>();
    let allowed = swagger.property_names(&def, def_name);
    for field in &fields {
        if !allowed.contains(*field) {
            failures.push(format!(
                "{def_name}.{field}: field is not in Coder's definition (nor declared in ADDITIONS)"
            ));
        }
    }

    // (c) a fully populated value emits every field, with Coder's types and enum strings.
    let mut full = example;
    if let Value::Object(map) = &mut full {
        for (field, schema) in swagger.added_fields(def_name) {
            map.insert(field.to_owned(), swagger.example(&schema, 0));
        }
    }
    let value = match serde_json::from_value::<T>(full) {
        Ok(v) => v,
        Err(e) => {
            return vec![format!(
                "{def_name}: fully populated example does not decode: {e}"
            )];
        }
    };
    let emitted = match serde_json::to_value(&value) {
        Ok(v) => v,
        Err(e) => return vec![format!("{def_name}: does not encode: {e}")],
    };
    for field in &fields {
        if allowed.contains(*field) && emitted.get(*field).is_none() {
            failures.push(format!(
                "{def_name}.{field}: not emitted by a fully populated value (was it decoded?)"
            ));
        }
    }
    let reference = json!({ "$ref": format!("#/definitions/{def_name}") });
    swagger.check_value(&emitted, &reference, def_name, &mut failures);
    failures
}

fn check_enum<E: WireEnum + DeserializeOwned + Serialize>(
    swagger: &Swagger,
    def_name: &str,
    completeness: Completeness,
) -> Vec<String> {
    let values = swagger.enum_values(def_name);
    let added: Vec<&str> = ADDITIONS
        .iter()
        .filter_map(|a| match a {
            Addition::EnumValue {
                definition, value, ..
            } if *definition == def_name => Some(*value),
            _ => None,
        })
        .collect();
    let mut failures = Vec::new();
    for variant in E::KNOWN {
        let wire = variant.as_str();
        if !values.iter().any(|v| v == wire) && !added.contains(&wire) {
            failures.push(format!(
                "{def_name}: variant {wire:?} is not one of Coder's values"
            ));
        }
        let encoded = serde_json::to_value(variant).ok();
        if encoded != Some(json!(wire)) {
            failures.push(format!(
                "{def_name}: variant {wire:?} encodes as {encoded:?}"
            ));
        }
    }
    for value in &values {
        match serde_json::from_value::<E>(json!(value)) {
            Ok(decoded) => {
                let known = E::KNOWN.iter().any(|k| k.as_str() == decoded.as_str());
                if matches!(completeness, Completeness::Full) && !known {
                    failures.push(format!(
                        "{def_name}: Coder's value {value:?} is not a known variant"
                    ));
                }
                if decoded.as_str() != value {
                    failures.push(format!("{def_name}: {value:?} does not round-trip"));
                }
            }
            Err(e) => failures.push(format!("{def_name}: {value:?} does not decode: {e}")),
        }
    }
    failures
}

// ---------------------------------------------------------------------------------------------
// The swagger document.
// ---------------------------------------------------------------------------------------------

struct Swagger {
    definitions: Map<String, Value>,
}

/// Nesting depth after which examples stop expanding (definitions refer to each other).
const MAX_DEPTH: usize = 12;

impl Swagger {
    fn load() -> Self {
        let path = std::env::var_os("CODER_SWAGGER")
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                    .join("../../shared/spec/coder-swagger.json")
            });
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!(
                "cannot read Coder's contract at {} ({e}); it lives in shared/spec beside the \
                 repository, or set CODER_SWAGGER",
                path.display()
            )
        });
        let mut doc: Value = serde_json::from_str(&text).expect("swagger is JSON");
        let definitions = match doc["definitions"].take() {
            Value::Object(m) => m,
            _ => panic!("swagger has no definitions"),
        };
        Self { definitions }
    }

    /// A definition, or a property's schema when written `definition.property`.
    fn definition(&self, name: &str) -> Value {
        if let Some(def) = self.definitions.get(name) {
            return def.clone();
        }
        let (def, prop) = name.rsplit_once('.').expect("definition name");
        let def = self
            .definitions
            .get(def)
            .unwrap_or_else(|| panic!("no definition {name}"));
        def["properties"][prop].clone()
    }

    fn enum_values(&self, name: &str) -> Vec<String> {
        let def = self.definition(name);
        let list = def
            .get("enum")
            .or_else(|| def.get("items").and_then(|i| i.get("enum")));
        list.and_then(Value::as_array)
            .unwrap_or_else(|| panic!("{name} is not an enum"))
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect()
    }

    fn property_names(&self, def: &Value, def_name: &str) -> BTreeSet<String> {
        let mut names: BTreeSet<String> = def["properties"]
            .as_object()
            .map(|p| p.keys().cloned().collect())
            .unwrap_or_default();
        names.extend(
            self.added_fields(def_name)
                .into_iter()
                .map(|(f, _)| f.to_owned()),
        );
        names
    }

    fn added_fields(&self, def_name: &str) -> Vec<(&'static str, Value)> {
        ADDITIONS
            .iter()
            .filter_map(|a| match *a {
                Addition::Field {
                    definition,
                    field,
                    schema,
                    ..
                } if definition == def_name => Some((
                    field,
                    serde_json::from_str(schema).expect("addition schema is JSON"),
                )),
                _ => None,
            })
            .collect()
    }

    fn override_for(&self, def_name: &str, prop: &str) -> Option<Value> {
        ADDITIONS.iter().find_map(|a| match *a {
            Addition::Override {
                definition,
                field,
                schema,
                ..
            } if definition == def_name && field == prop => {
                Some(serde_json::from_str(schema).expect("override schema is JSON"))
            }
            _ => None,
        })
    }

    /// Resolves `$ref` and single-element `allOf` wrappers; returns the schema and the name of
    /// the definition it came from.
    fn resolve(&self, schema: &Value) -> (Value, Option<String>) {
        if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
            let name = r.trim_start_matches("#/definitions/").to_owned();
            return (
                self.definitions.get(&name).cloned().unwrap_or(Value::Null),
                Some(name),
            );
        }
        if let Some(inner) = schema.get("allOf").and_then(|a| a.get(0)) {
            let (mut resolved, name) = self.resolve(inner);
            // An inline `enum` beside the `allOf` narrows the referenced enum.
            if let (Some(e), Value::Object(m)) = (schema.get("enum"), &mut resolved) {
                m.insert("enum".to_owned(), e.clone());
            }
            return (resolved, name);
        }
        (schema.clone(), None)
    }

    /// A complete, valid example document for `schema`.
    fn example(&self, schema: &Value, depth: usize) -> Value {
        let (schema, name) = self.resolve(schema);
        // Coder's NullUUID travels as a UUID string or null (shared/spec/README.md).
        if name.as_deref() == Some("uuid.NullUUID") {
            return json!("3fa85f64-5717-4562-b3fc-2c963f66afa6");
        }
        if let Some(values) = schema.get("enum").and_then(Value::as_array) {
            // Prefer a non-empty value: an empty string is often Go's "unset".
            let chosen = values
                .iter()
                .find(|v| v.as_str() != Some(""))
                .or(values.first());
            return chosen.cloned().unwrap_or(Value::Null);
        }
        if depth > MAX_DEPTH && name.is_some() {
            return json!({});
        }
        match schema.get("type").and_then(Value::as_str) {
            Some("string") => match schema.get("format").and_then(Value::as_str) {
                Some("date-time") => json!("2026-08-22T10:11:12.5Z"),
                Some("uuid") => json!("3fa85f64-5717-4562-b3fc-2c963f66afa6"),
                Some("email") => json!("jane@example.com"),
                Some("uri" | "url") => json!("https://example.com/x"),
                _ => json!("example"),
            },
            Some("integer") => json!(7),
            Some("number") => json!(1.5),
            Some("boolean") => json!(true),
            Some("array") => match schema.get("items") {
                Some(items) if depth <= MAX_DEPTH => json!([self.example(items, depth + 1)]),
                _ => json!([]),
            },
            _ => {
                let mut map = Map::new();
                if let Some(props) = schema.get("properties").and_then(Value::as_object) {
                    let def_name = name.as_deref().unwrap_or("");
                    for (prop, prop_schema) in props {
                        let prop_schema = self
                            .override_for(def_name, prop)
                            .unwrap_or_else(|| prop_schema.clone());
                        map.insert(prop.clone(), self.example(&prop_schema, depth + 1));
                    }
                } else if let Some(values) = schema.get("additionalProperties") {
                    let v = if values.is_object() {
                        self.example(values, depth + 1)
                    } else {
                        json!("value")
                    };
                    map.insert("key".to_owned(), v);
                }
                Value::Object(map)
            }
        }
    }

    /// Checks an emitted value against `schema`, recursing into objects and arrays.
    fn check_value(&self, value: &Value, schema: &Value, path: &str, failures: &mut Vec<String>) {
        if value.is_null() {
            return; // Go pointers and nil slices travel as null; swagger cannot say which.
        }
        let (schema, name) = self.resolve(schema);
        if name.as_deref() == Some("uuid.NullUUID") {
            if value
                .as_str()
                .is_none_or(|s| uuid::Uuid::parse_str(s).is_err())
            {
                failures.push(format!(
                    "{path}: emitted {value} where Coder sends a UUID or null"
                ));
            }
            return;
        }
        if let Some(allowed) = schema.get("enum").and_then(Value::as_array) {
            let added = ADDITIONS.iter().any(|a| {
                matches!(a, Addition::EnumValue { definition, value: v, .. }
                    if (Some(*definition) == name.as_deref() || *definition == path)
                        && value.as_str() == Some(*v))
            });
            if !allowed.contains(value) && !added {
                failures.push(format!(
                    "{path}: {value} is not one of Coder's values {allowed:?}"
                ));
            }
            return;
        }
        let ty = schema.get("type").and_then(Value::as_str);
        let ok = match (ty, value) {
            (Some("string"), Value::String(s)) => {
                match schema.get("format").and_then(Value::as_str) {
                    Some("date-time") => chrono::DateTime::parse_from_rfc3339(s).is_ok(),
                    Some("uuid") => uuid::Uuid::parse_str(s).is_ok(),
                    _ => true,
                }
            }
            (Some("string"), _) => false,
            (Some("integer"), v) => v.is_i64() || v.is_u64(),
            (Some("number"), v) => v.is_number(),
            (Some("boolean"), v) => v.is_boolean(),
            (Some("array"), Value::Array(items)) => {
                if let Some(item_schema) = schema.get("items") {
                    for (i, item) in items.iter().enumerate() {
                        self.check_value(item, item_schema, &format!("{path}[{i}]"), failures);
                    }
                }
                true
            }
            (Some("array"), _) => false,
            (Some("object") | None, Value::Object(map)) => {
                let def_name = name.clone().unwrap_or_else(|| path.to_owned());
                let props = schema.get("properties").and_then(Value::as_object);
                let added = self.added_fields(&def_name);
                for (key, v) in map {
                    let prop_schema = self
                        .override_for(&def_name, key)
                        .or_else(|| props.and_then(|p| p.get(key)).cloned())
                        .or_else(|| added.iter().find(|(f, _)| f == key).map(|(_, s)| s.clone()))
                        .or_else(|| schema.get("additionalProperties").cloned());
                    match prop_schema {
                        Some(Value::Bool(true)) => {}
                        Some(s) => self.check_value(v, &s, &format!("{def_name}.{key}"), failures),
                        None => failures.push(format!(
                            "{def_name}.{key}: emitted but not in Coder's definition (nor declared in ADDITIONS)"
                        )),
                    }
                }
                true
            }
            (None, _) => true, // `{}`: any JSON.
            (Some(_), _) => false,
        };
        if !ok {
            failures.push(format!(
                "{path}: emitted {value} where Coder's definition says {schema}"
            ));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Reading a struct's field names through serde (what `#[derive(Deserialize)]` accepts).
// ---------------------------------------------------------------------------------------------

/// The wire names of a derived struct's fields, read from the `fields` list serde's derive
/// passes to `deserialize_struct`.
fn struct_fields<T: DeserializeOwned>() -> Vec<&'static str> {
    let mut capture = FieldCapture(None);
    let _ = T::deserialize(&mut capture);
    capture.0.map(<[_]>::to_vec).unwrap_or_default()
}

struct FieldCapture(Option<&'static [&'static str]>);

#[derive(Debug)]
struct Captured;

impl std::fmt::Display for Captured {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("captured")
    }
}

impl std::error::Error for Captured {}

impl de::Error for Captured {
    fn custom<M: std::fmt::Display>(_: M) -> Self {
        Captured
    }
}

impl<'de> Deserializer<'de> for &mut FieldCapture {
    type Error = Captured;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Captured> {
        Err(Captured)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value, Captured> {
        self.0 = Some(fields);
        Err(Captured)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
        ignored_any
    }
}
