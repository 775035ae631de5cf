//! The command line, with Coder's command and flag names (see Coder's `--help` text): global
//! flags, then one subcommand.

use std::path::PathBuf;

use clap::builder::BoolishValueParser;
use clap::{ArgAction, Args, CommandFactory, Parser, Subcommand, ValueEnum};
use clap_complete::ArgValueCompleter;

/// The command line as `coder` parses it: the derived definition with Coder's grammar for
/// boolean flags (see [`coder_booleans`]).
pub(crate) fn command() -> clap::Command {
    coder_booleans(Cli::command())
}

/// Coder's boolean flags also take a value: `--yes`, `--yes=true`,
/// `--first-user-trial=false`, and in their environment variables any of true/false, 1/0,
/// yes/no, on/off. Every plain switch of `cmd` and its subcommands becomes such a flag.
fn coder_booleans(cmd: clap::Command) -> clap::Command {
    let switches: Vec<clap::Id> = cmd
        .get_arguments()
        .filter(|a| matches!(a.get_action(), ArgAction::SetTrue))
        .map(|a| a.get_id().clone())
        .collect();
    let mut cmd = cmd;
    for id in switches {
        cmd = cmd.mut_arg(id, |a| {
            a.action(ArgAction::Set)
                .num_args(0..=1)
                .require_equals(true)
                .default_value("false")
                .default_missing_value("true")
                .hide_default_value(true)
                .value_name("true|false")
                .value_parser(BoolishValueParser::new())
        });
    }
    let subcommands: Vec<String> = cmd
        .get_subcommands()
        .map(|s| s.get_name().to_owned())
        .collect();
    for name in subcommands {
        cmd = cmd.mut_subcommand(name, coder_booleans);
    }
    cmd
}

/// Coder — self-hosted development environments, over this project's Rust SDK.
#[derive(Debug, Parser)]
#[command(name = "coder", version, about, propagate_version = true)]
pub(crate) struct Cli {
    /// Options for every command.
    #[command(flatten)]
    pub(crate) global: Global,
    /// What to do.
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// Options that apply to every command; each can also come from its environment variable.
#[derive(Debug, Args)]
pub(crate) struct Global {
    /// URL to a deployment.
    #[arg(long, global = true, env = "CODER_URL", value_name = "URL")]
    pub(crate) url: Option<String>,
    /// Specify an authentication token. For security reasons setting CODER_SESSION_TOKEN is
    /// preferred.
    #[arg(
        long,
        global = true,
        env = "CODER_SESSION_TOKEN",
        hide_env_values = true
    )]
    pub(crate) token: Option<String>,
    /// Path to the global `coder` config directory [default: ~/.config/coderv2].
    #[arg(long, global = true, env = "CODER_CONFIG_DIR", value_name = "DIR")]
    pub(crate) global_config: Option<PathBuf>,
    /// Enable verbose output.
    #[arg(short, long, global = true, env = "CODER_VERBOSE")]
    pub(crate) verbose: bool,
    /// Print only results and summaries: no build logs, no spinner.
    #[arg(short, long, global = true, env = "CODER_QUIET")]
    pub(crate) quiet: bool,
    /// Additional HTTP headers added to all requests. Provide as key=value. Can be specified
    /// multiple times.
    #[arg(
        long,
        global = true,
        env = "CODER_HEADER",
        value_delimiter = ',',
        value_name = "KEY=VALUE"
    )]
    pub(crate) header: Vec<String>,
    /// An external command that outputs additional HTTP headers added to all requests. The
    /// command must output each header as `key=value` on its own line.
    #[arg(
        long,
        global = true,
        env = "CODER_HEADER_COMMAND",
        value_name = "COMMAND"
    )]
    pub(crate) header_command: Option<String>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Authenticate with Coder deployment
    Login(LoginArgs),
    /// Unauthenticate your local session
    Logout(YesArgs),
    /// Fetch authenticated user info for Coder deployment
    Whoami(TableArgs),
    /// Manage personal access tokens
    #[command(subcommand)]
    Tokens(TokensCommand),
    /// Manage templates
    #[command(subcommand, alias = "template")]
    Templates(TemplatesCommand),
    /// Create a workspace
    Create(CreateArgs),
    /// List workspaces
    #[command(alias = "ls")]
    List(ListArgs),
    /// Display details of a workspace's resources and agents
    Show(WorkspaceArg),
    /// Start a workspace
    Start(StartArgs),
    /// Stop a workspace
    Stop(WorkspaceYesArgs),
    /// Restart a workspace
    Restart(StartArgs),
    /// Will update and start a given workspace if it is out of date
    Update(UpdateArgs),
    /// Rename a workspace
    Rename(RenameArgs),
    /// Delete a workspace
    #[command(alias = "rm")]
    Delete(DeleteArgs),
    /// View logs for a workspace
    Logs(LogsArgs),
    /// Schedule automated start and stop times for workspaces
    #[command(subcommand)]
    Schedule(ScheduleCommand),
    /// Manage users
    #[command(subcommand, alias = "user")]
    Users(UsersCommand),
    /// Organization related commands
    #[command(subcommand, alias = "organization", alias = "org", alias = "orgs")]
    Organizations(OrganizationsCommand),
    /// Print the shell completion script for the detected or chosen shell.
    Completion(CompletionArgs),
    /// Show coder version
    Version(OutputArgs),
    /// Start a Coder server (the reference control plane; same flags as `coder-server`)
    Server(coder_server::cli::ServerArgs),
}

/// `coder login`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub(crate) struct LoginArgs {
    /// Print the current session token instead of logging in.
    #[command(subcommand)]
    pub(crate) command: Option<LoginCommand>,
    /// The deployment to log in to (defaults to --url, $CODER_URL, then the stored URL).
    // Not called `url`: that id belongs to the global --url.
    #[arg(value_name = "URL")]
    pub(crate) deployment: Option<String>,
    /// Email to log in with (prompted for when missing).
    #[arg(long, env = "CODER_EMAIL")]
    pub(crate) email: Option<String>,
    /// Password to log in with (prompted for when missing; prefer the prompt or the
    /// environment variable).
    #[arg(long, env = "CODER_PASSWORD", hide_env_values = true)]
    pub(crate) password: Option<String>,
    /// Specifies an email address to use if creating the first user for the deployment.
    #[arg(long, env = "CODER_FIRST_USER_EMAIL")]
    pub(crate) first_user_email: Option<String>,
    /// Specifies a human-readable name for the first user of the deployment.
    #[arg(long, env = "CODER_FIRST_USER_FULL_NAME")]
    pub(crate) first_user_full_name: Option<String>,
    /// Specifies a password to use if creating the first user for the deployment.
    #[arg(long, env = "CODER_FIRST_USER_PASSWORD", hide_env_values = true)]
    pub(crate) first_user_password: Option<String>,
    /// Specifies whether a trial license should be provisioned for the Coder deployment or
    /// not.
    #[arg(long, env = "CODER_FIRST_USER_TRIAL")]
    pub(crate) first_user_trial: bool,
    /// Specifies a username to use if creating the first user for the deployment.
    #[arg(long, env = "CODER_FIRST_USER_USERNAME")]
    pub(crate) first_user_username: Option<String>,
    /// By default, the CLI will generate a new session token when logging in with --token.
    /// This flag will instead use the provided token as the session token (and `coder
    /// logout` then leaves it valid).
    #[arg(long)]
    pub(crate) use_token_as_session: bool,
}

/// `coder login token`.
#[derive(Debug, Subcommand)]
pub(crate) enum LoginCommand {
    /// Print the current session token
    Token,
}

/// `-y/--yes`.
#[derive(Debug, Args)]
pub(crate) struct YesArgs {
    /// Bypass confirmation prompts.
    #[arg(short, long)]
    pub(crate) yes: bool,
}

/// Output format of listing commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub(crate) enum OutputFormat {
    /// Human-readable text.
    Text,
    /// Aligned columns.
    #[default]
    Table,
    /// Coder's JSON objects, stable for scripts.
    Json,
}

/// `-o/--output`.
#[derive(Debug, Args)]
pub(crate) struct OutputArgs {
    /// Output format.
    #[arg(short, long, value_enum)]
    pub(crate) output: Option<OutputFormat>,
}

/// `-o/--output` and `-c/--column` of a table command.
#[derive(Debug, Args)]
pub(crate) struct TableArgs {
    /// Output format.
    #[arg(short, long, value_enum)]
    pub(crate) output: Option<OutputFormat>,
    /// Columns to display in table output (comma-separated or repeated; see the command's
    /// help for the names).
    #[arg(short, long = "column", value_delimiter = ',', value_name = "COLUMN")]
    pub(crate) column: Vec<String>,
}

/// `coder users ...`.
#[derive(Debug, Subcommand)]
pub(crate) enum UsersCommand {
    /// Prints the list of users.
    #[command(alias = "ls")]
    List(TableArgs),
    /// Show a single user. Use 'me' to indicate the currently authenticated user.
    Show(UsersShowArgs),
    /// Create a new user.
    Create(UsersCreateArgs),
    /// Update a user's status to 'suspended'. A suspended user cannot log into the platform
    Suspend(UserArg),
    /// Update a user's status to 'active'. Active users can fully interact with the platform
    Activate(UserArg),
}

/// `<user>`.
#[derive(Debug, Args)]
pub(crate) struct UserArg {
    /// Username or id.
    pub(crate) user: String,
}

/// `coder users show`.
#[derive(Debug, Args)]
pub(crate) struct UsersShowArgs {
    /// Username, id, or `me`.
    pub(crate) user: String,
    /// Output format.
    #[command(flatten)]
    pub(crate) output: OutputArgs,
}

/// `coder users create`.
#[derive(Debug, Args)]
pub(crate) struct UsersCreateArgs {
    /// Specifies an email address for the new user.
    #[arg(short, long)]
    pub(crate) email: Option<String>,
    /// Specifies a username for the new user.
    #[arg(short, long)]
    pub(crate) username: Option<String>,
    /// Specifies a user's full name.
    #[arg(short = 'n', long)]
    pub(crate) full_name: Option<String>,
    /// Specifies a password for the new user (prompted for on a terminal when missing).
    #[arg(short, long)]
    pub(crate) password: Option<String>,
    /// Optionally specify the login type for the user: password or none.
    #[arg(long, default_value = "password")]
    pub(crate) login_type: String,
    /// Organization.
    #[command(flatten)]
    pub(crate) org: OrgArgs,
}

/// `coder organizations ...`.
#[derive(Debug, Subcommand)]
pub(crate) enum OrganizationsCommand {
    /// Show the organization (`selected`, the default: the one --org names; `me`: all of
    /// yours; or a name or id).
    Show(OrganizationsShowArgs),
}

/// `coder organizations show`.
#[derive(Debug, Args)]
pub(crate) struct OrganizationsShowArgs {
    /// `selected`, `me`, or an organization's name or id.
    #[arg(default_value = "selected")]
    pub(crate) which: String,
    /// Organization.
    #[command(flatten)]
    pub(crate) org: OrgArgs,
    /// Output format and columns.
    #[command(flatten)]
    pub(crate) output: TableArgs,
}

/// `coder tokens ...`.
#[derive(Debug, Subcommand)]
pub(crate) enum TokensCommand {
    /// Create a token
    Create(TokensCreateArgs),
    /// List tokens
    #[command(alias = "ls")]
    List(TableArgs),
    /// Delete a token
    #[command(alias = "rm", alias = "delete")]
    Remove(TokensRemoveArgs),
}

/// `coder tokens create`.
#[derive(Debug, Args)]
pub(crate) struct TokensCreateArgs {
    /// Duration for the token lifetime (e.g. 8h, 30d, 1y).
    #[arg(long, env = "CODER_TOKEN_LIFETIME")]
    pub(crate) lifetime: Option<String>,
    /// Specify a human-readable name.
    #[arg(short, long, env = "CODER_TOKEN_NAME")]
    pub(crate) name: Option<String>,
    /// Specify the user to create the token for (Only works if logged in user is admin).
    #[arg(short, long, env = "CODER_TOKEN_USER", default_value = "me")]
    pub(crate) user: String,
}

/// `coder tokens remove`.
#[derive(Debug, Args)]
pub(crate) struct TokensRemoveArgs {
    /// The token's name, its id, or the token itself.
    // Not called `token`: that id belongs to the global --token.
    #[arg(value_name = "NAME|ID|TOKEN")]
    pub(crate) name_or_id: String,
}

/// `coder templates ...`.
#[derive(Debug, Subcommand)]
pub(crate) enum TemplatesCommand {
    /// Get started with a templated template.
    Init(TemplatesInitArgs),
    /// Create or update a template from the current directory or as specified by flag
    Push(TemplatesPushArgs),
    /// List all the templates available for the organization
    #[command(alias = "ls")]
    List(TableArgs),
    /// Manage different versions of the specified template
    #[command(subcommand)]
    Versions(VersionsCommand),
    /// Download the active, latest, or specified version of a template to a path.
    #[command(disable_version_flag = true)]
    Pull(TemplatesPullArgs),
    /// Edit the metadata of a template by name.
    Edit(TemplatesEditArgs),
    /// Delete templates
    #[command(alias = "rm")]
    Delete(TemplatesDeleteArgs),
}

/// `coder templates pull`.
#[derive(Debug, Args)]
pub(crate) struct TemplatesPullArgs {
    /// The template.
    #[arg(add = ArgValueCompleter::new(crate::complete::templates))]
    pub(crate) template: String,
    /// Where to unpack it (default: a new directory named after the template).
    pub(crate) destination: Option<PathBuf>,
    /// Output the template as a tar archive to stdout.
    #[arg(long)]
    pub(crate) tar: bool,
    /// The name of the template version to pull (default: the active version).
    #[arg(long = "version", value_name = "NAME")]
    pub(crate) template_version: Option<String>,
    /// Organization.
    #[command(flatten)]
    pub(crate) org: OrgArgs,
}

/// `coder templates edit`.
#[derive(Debug, Args)]
pub(crate) struct TemplatesEditArgs {
    /// The template.
    #[arg(add = ArgValueCompleter::new(crate::complete::templates))]
    pub(crate) template: String,
    /// Edit the template name.
    #[arg(long)]
    pub(crate) name: Option<String>,
    /// Edit the template display name.
    #[arg(long)]
    pub(crate) display_name: Option<String>,
    /// Edit the template description.
    #[arg(long)]
    pub(crate) description: Option<String>,
    /// Edit the template icon path.
    #[arg(long)]
    pub(crate) icon: Option<String>,
    /// Edit the template default time before shutdown (e.g. 8h).
    #[arg(long)]
    pub(crate) default_ttl: Option<String>,
    /// Organization.
    #[command(flatten)]
    pub(crate) org: OrgArgs,
}

/// `coder templates delete`.
#[derive(Debug, Args)]
pub(crate) struct TemplatesDeleteArgs {
    /// The templates.
    #[arg(required = true)]
    #[arg(add = ArgValueCompleter::new(crate::complete::templates))]
    pub(crate) templates: Vec<String>,
    /// Organization.
    #[command(flatten)]
    pub(crate) org: OrgArgs,
    /// Bypass confirmation prompts.
    #[arg(short, long)]
    pub(crate) yes: bool,
}

/// `coder templates init`.
#[derive(Debug, Args)]
pub(crate) struct TemplatesInitArgs {
    /// Where to write the example (default: ./local).
    pub(crate) directory: Option<PathBuf>,
}

/// Which provisioner imports a template version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ProvisionerArg {
    /// Terraform (`*.tf`).
    Terraform,
    /// The reference server's local process provisioner (`coder-template.toml`).
    Process,
    /// Coder's test provisioner.
    Echo,
}

/// `-O/--org`.
#[derive(Debug, Args)]
pub(crate) struct OrgArgs {
    /// Select which organization (uuid or name) to use.
    #[arg(
        short = 'O',
        long,
        env = "CODER_ORGANIZATION",
        default_value = "default"
    )]
    pub(crate) org: String,
}

/// `coder templates push`.
#[derive(Debug, Args)]
pub(crate) struct TemplatesPushArgs {
    /// The template's name (default: the directory's name).
    pub(crate) template: Option<String>,
    /// Specify the directory to create from, use '-' to read tar from stdin.
    #[arg(short, long, default_value = ".")]
    pub(crate) directory: PathBuf,
    /// The provisioner to import with (default: `process` when the directory has
    /// coder-template.toml, `terraform` when it has *.tf files).
    #[arg(long, value_enum)]
    pub(crate) provisioner: Option<ProvisionerArg>,
    /// Specify a message describing the changes in this version of the template.
    #[arg(short, long)]
    pub(crate) message: Option<String>,
    /// Specify a name for the new template version. It will be automatically generated if
    /// not provided.
    #[arg(long)]
    pub(crate) name: Option<String>,
    /// Whether the new template will be marked active.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, value_name = "BOOL")]
    pub(crate) activate: bool,
    /// Organization.
    #[command(flatten)]
    pub(crate) org: OrgArgs,
    /// Bypass confirmation prompts.
    #[arg(short, long)]
    pub(crate) yes: bool,
}

/// `coder templates versions ...`.
#[derive(Debug, Subcommand)]
pub(crate) enum VersionsCommand {
    /// List all the versions of the specified template
    #[command(alias = "ls")]
    List(VersionsListArgs),
}

/// `coder templates versions list`.
#[derive(Debug, Args)]
pub(crate) struct VersionsListArgs {
    /// The template.
    #[arg(add = ArgValueCompleter::new(crate::complete::templates))]
    pub(crate) template: String,
    /// Organization.
    #[command(flatten)]
    pub(crate) org: OrgArgs,
    /// Output format and columns.
    #[command(flatten)]
    pub(crate) output: TableArgs,
}

/// Where a build's parameter values come from (`create`, `update`).
#[derive(Debug, Args)]
pub(crate) struct ParameterArgs {
    /// Rich parameter value in the format "name=value".
    #[arg(
        long = "parameter",
        env = "CODER_RICH_PARAMETER",
        value_delimiter = ',',
        value_name = "NAME=VALUE"
    )]
    pub(crate) parameters: Vec<String>,
    /// Specify a file path with values for rich parameters defined in the template. The file
    /// should be in YAML format, containing key-value pairs for the parameters.
    #[arg(long, env = "CODER_RICH_PARAMETER_FILE", value_name = "FILE")]
    pub(crate) rich_parameter_file: Option<PathBuf>,
    /// Rich parameter default values in the format "name=value".
    #[arg(
        long = "parameter-default",
        env = "CODER_RICH_PARAMETER_DEFAULT",
        value_delimiter = ',',
        value_name = "NAME=VALUE"
    )]
    pub(crate) parameter_defaults: Vec<String>,
    /// Automatically accept parameter defaults when no value is provided.
    #[arg(long, env = "CODER_WORKSPACE_USE_PARAMETER_DEFAULTS")]
    pub(crate) use_parameter_defaults: bool,
}

/// `coder update`.
#[derive(Debug, Args)]
pub(crate) struct UpdateArgs {
    /// The workspace: `<name>` (yours) or `<owner>/<name>`.
    #[arg(add = ArgValueCompleter::new(crate::complete::workspaces))]
    pub(crate) workspace: String,
    /// Parameter values.
    #[command(flatten)]
    pub(crate) parameters: ParameterArgs,
}

/// `coder rename`.
#[derive(Debug, Args)]
pub(crate) struct RenameArgs {
    /// The workspace: `<name>` (yours) or `<owner>/<name>`.
    #[arg(add = ArgValueCompleter::new(crate::complete::workspaces))]
    pub(crate) workspace: String,
    /// Its new name.
    pub(crate) new_name: String,
    /// Bypass confirmation prompts.
    #[arg(short, long)]
    pub(crate) yes: bool,
}

/// `coder create`.
#[derive(Debug, Args)]
pub(crate) struct CreateArgs {
    /// The workspace's name, or `<owner>/<name>` to create one for another user.
    pub(crate) workspace: Option<String>,
    /// Specify a template name.
    #[arg(short, long, env = "CODER_TEMPLATE_NAME", add = ArgValueCompleter::new(crate::complete::templates))]
    pub(crate) template: Option<String>,
    /// Specify a template version name.
    #[arg(long, env = "CODER_TEMPLATE_VERSION")]
    pub(crate) template_version: Option<String>,
    /// Parameter values.
    #[command(flatten)]
    pub(crate) parameters: ParameterArgs,
    /// Return immediately after creating the workspace. The build will run in the
    /// background.
    #[arg(long, env = "CODER_CREATE_NO_WAIT")]
    pub(crate) no_wait: bool,
    /// Specify the workspace autostart schedule. Check coder schedule start --help for the
    /// syntax.
    #[arg(long, env = "CODER_WORKSPACE_START_AT")]
    pub(crate) start_at: Option<String>,
    /// Specify a duration after which the workspace should shut down (e.g. 8h).
    #[arg(long, env = "CODER_WORKSPACE_STOP_AFTER")]
    pub(crate) stop_after: Option<String>,
    /// Organization.
    #[command(flatten)]
    pub(crate) org: OrgArgs,
    /// Bypass confirmation prompts.
    #[arg(short, long)]
    pub(crate) yes: bool,
}

/// `coder list`.
#[derive(Debug, Args)]
pub(crate) struct ListArgs {
    /// Specifies whether all workspaces will be listed or not.
    #[arg(short, long)]
    pub(crate) all: bool,
    /// Search for a workspace with a query.
    #[arg(long, default_value = "owner:me")]
    pub(crate) search: String,
    /// Output format and columns.
    #[command(flatten)]
    pub(crate) output: TableArgs,
}

/// `<workspace>`.
#[derive(Debug, Args)]
pub(crate) struct WorkspaceArg {
    /// The workspace: `<name>` (yours) or `<owner>/<name>`.
    #[arg(add = ArgValueCompleter::new(crate::complete::workspaces))]
    pub(crate) workspace: String,
}

/// `<workspace> [-y]`.
#[derive(Debug, Args)]
pub(crate) struct WorkspaceYesArgs {
    /// The workspace: `<name>` (yours) or `<owner>/<name>`.
    #[arg(add = ArgValueCompleter::new(crate::complete::workspaces))]
    pub(crate) workspace: String,
    /// Bypass confirmation prompts.
    #[arg(short, long)]
    pub(crate) yes: bool,
}

/// `coder start` / `coder restart`.
#[derive(Debug, Args)]
pub(crate) struct StartArgs {
    /// The workspace: `<name>` (yours) or `<owner>/<name>`.
    #[arg(add = ArgValueCompleter::new(crate::complete::workspaces))]
    pub(crate) workspace: String,
    /// Rich parameter value in the format "name=value".
    #[arg(long = "parameter", value_name = "NAME=VALUE")]
    pub(crate) parameters: Vec<String>,
    /// Bypass confirmation prompts.
    #[arg(short, long)]
    pub(crate) yes: bool,
}

/// `coder delete`.
#[derive(Debug, Args)]
pub(crate) struct DeleteArgs {
    /// The workspace: `<name>` (yours) or `<owner>/<name>`.
    #[arg(add = ArgValueCompleter::new(crate::complete::workspaces))]
    pub(crate) workspace: String,
    /// Delete a workspace without deleting its resources.
    #[arg(long)]
    pub(crate) orphan: bool,
    /// Bypass confirmation prompts.
    #[arg(short, long)]
    pub(crate) yes: bool,
}

/// `coder logs`.
#[derive(Debug, Args)]
pub(crate) struct LogsArgs {
    /// The workspace: `<name>` (yours) or `<owner>/<name>`.
    #[arg(add = ArgValueCompleter::new(crate::complete::workspaces))]
    pub(crate) workspace: String,
    /// Only show logs for a specific build number (0: the latest; -1: the one before).
    #[arg(short = 'n', long, default_value_t = 0, allow_negative_numbers = true)]
    pub(crate) build_number: i64,
    /// Follow logs as they are emitted.
    #[arg(short, long)]
    pub(crate) follow: bool,
}

/// `coder schedule ...`.
#[derive(Debug, Subcommand)]
pub(crate) enum ScheduleCommand {
    /// Show workspace schedules
    Show(ScheduleShowArgs),
    /// Edit workspace start schedule
    Start(ScheduleStartArgs),
    /// Edit workspace stop schedule
    Stop(ScheduleStopArgs),
    /// Extend the stop time of a currently running workspace instance.
    #[command(alias = "override-stop")]
    Extend(ScheduleExtendArgs),
}

/// `coder schedule show`.
#[derive(Debug, Args)]
pub(crate) struct ScheduleShowArgs {
    /// The workspace (default: every workspace matching --search).
    #[arg(add = ArgValueCompleter::new(crate::complete::workspaces))]
    pub(crate) workspace: Option<String>,
    /// Specifies whether all workspaces will be listed or not.
    #[arg(short, long)]
    pub(crate) all: bool,
    /// Search for a workspace with a query.
    #[arg(long, default_value = "owner:me")]
    pub(crate) search: String,
    /// Output format and columns.
    #[command(flatten)]
    pub(crate) output: TableArgs,
}

/// `coder schedule start <workspace> { <start-time> [day-of-week] [location] | manual }`.
#[derive(Debug, Args)]
pub(crate) struct ScheduleStartArgs {
    /// The workspace.
    #[arg(add = ArgValueCompleter::new(crate::complete::workspaces))]
    pub(crate) workspace: String,
    /// `<start-time> [day-of-week] [location]`, e.g. `9:30AM Mon-Fri Europe/Dublin`, or
    /// `manual` to turn autostart off.
    #[arg(required = true, num_args = 1..=3)]
    pub(crate) schedule: Vec<String>,
}

/// `coder schedule stop <workspace> { <duration> | manual }`.
#[derive(Debug, Args)]
pub(crate) struct ScheduleStopArgs {
    /// The workspace.
    #[arg(add = ArgValueCompleter::new(crate::complete::workspaces))]
    pub(crate) workspace: String,
    /// e.g. `8h`, `2h30m`, `90` (minutes), or `manual` to turn autostop off.
    pub(crate) duration: String,
}

/// `coder schedule extend <workspace> <duration from now>`.
#[derive(Debug, Args)]
pub(crate) struct ScheduleExtendArgs {
    /// The workspace.
    #[arg(add = ArgValueCompleter::new(crate::complete::workspaces))]
    pub(crate) workspace: String,
    /// The new stop time, from now (at least 30 minutes), e.g. `90m`.
    pub(crate) duration: String,
}

/// `coder completion`.
#[derive(Debug, Args)]
pub(crate) struct CompletionArgs {
    /// The shell (default: from $SHELL).
    #[arg(short, long, value_enum)]
    pub(crate) shell: Option<clap_complete::Shell>,
    /// Print the script to stdout (the only mode: redirect it where your shell loads it).
    #[arg(short, long)]
    pub(crate) print: bool,
}

#[cfg(test)]
mod tests {
    use clap::FromArgMatches;

    use super::*;

    /// Parses as `coder` does: through [`command`], with Coder's boolean grammar.
    fn parse(args: &[&str]) -> Cli {
        command()
            .try_get_matches_from(std::iter::once("coder").chain(args.iter().copied()))
            .and_then(|m| Cli::from_arg_matches(&m))
            .unwrap_or_else(|e| panic!("{args:?}: {e}"))
    }

    #[test]
    fn the_command_definition_is_consistent() {
        command().debug_assert();
    }

    #[test]
    fn global_flags_go_anywhere() {
        let cli = parse(&[
            "list",
            "--url",
            "http://x:1",
            "-v",
            "--token",
            "t",
            "-o",
            "json",
        ]);
        assert_eq!(cli.global.url.as_deref(), Some("http://x:1"));
        assert_eq!(cli.global.token.as_deref(), Some("t"));
        assert!(cli.global.verbose);
        let Command::List(list) = cli.command else {
            panic!()
        };
        assert_eq!(list.output.output, Some(OutputFormat::Json));
        assert_eq!(list.search, "owner:me");
        assert!(!list.all);
    }

    #[test]
    fn login_takes_a_url_or_the_token_subcommand() {
        let cli = parse(&[
            "login",
            "http://127.0.0.1:3000",
            "--first-user-username",
            "admin",
            "--first-user-email",
            "admin@example.com",
            "--first-user-password",
            "a long password",
            "--first-user-trial",
        ]);
        let cli_url = cli.global.url.clone();
        let Command::Login(login) = cli.command else {
            panic!()
        };
        assert_eq!(login.deployment.as_deref(), Some("http://127.0.0.1:3000"));
        assert_eq!(cli_url, None, "the positional URL is not the global --url");
        assert_eq!(login.first_user_username.as_deref(), Some("admin"));
        assert!(login.first_user_trial);
        assert!(login.command.is_none());
        let Command::Login(login) = parse(&["login", "token"]).command else {
            panic!()
        };
        assert!(matches!(login.command, Some(LoginCommand::Token)));
    }

    #[test]
    fn create_takes_coders_flags() {
        let Command::Create(create) = parse(&[
            "create",
            "dev",
            "-t",
            "local",
            "--parameter",
            "greeting=hi",
            "--parameter",
            "port=8080",
            "--stop-after",
            "8h",
            "--start-at",
            "9:30AM Mon-Fri UTC",
            "-y",
        ])
        .command
        else {
            panic!()
        };
        assert_eq!(create.workspace.as_deref(), Some("dev"));
        assert_eq!(create.template.as_deref(), Some("local"));
        assert_eq!(create.parameters.parameters, ["greeting=hi", "port=8080"]);
        assert_eq!(create.stop_after.as_deref(), Some("8h"));
        assert_eq!(create.start_at.as_deref(), Some("9:30AM Mon-Fri UTC"));
        assert_eq!(create.org.org, "default");
        assert!(create.yes);
    }

    #[test]
    fn templates_push_defaults_and_overrides() {
        let Command::Templates(TemplatesCommand::Push(push)) = parse(&[
            "templates",
            "push",
            "local",
            "-d",
            "examples/templates/local",
            "--yes",
        ])
        .command
        else {
            panic!()
        };
        assert_eq!(push.template.as_deref(), Some("local"));
        assert_eq!(push.directory, PathBuf::from("examples/templates/local"));
        assert!(push.yes && push.activate);
        assert_eq!(push.provisioner, None);
        let Command::Templates(TemplatesCommand::Push(push)) = parse(&[
            "templates",
            "push",
            "--provisioner",
            "terraform",
            "--activate=false",
        ])
        .command
        else {
            panic!()
        };
        assert_eq!(push.directory, PathBuf::from("."));
        assert_eq!(push.provisioner, Some(ProvisionerArg::Terraform));
        assert!(!push.activate);
    }

    #[test]
    fn logs_accepts_negative_build_offsets() {
        let Command::Logs(logs) = parse(&["logs", "dev", "-n", "-1", "-f"]).command else {
            panic!()
        };
        assert_eq!(logs.build_number, -1);
        assert!(logs.follow);
    }

    #[test]
    fn schedule_start_takes_up_to_three_words() {
        let Command::Schedule(ScheduleCommand::Start(start)) = parse(&[
            "schedule",
            "start",
            "dev",
            "9:30AM",
            "Mon-Fri",
            "Europe/Dublin",
        ])
        .command
        else {
            panic!()
        };
        assert_eq!(start.schedule, ["9:30AM", "Mon-Fri", "Europe/Dublin"]);
        assert!(
            Cli::try_parse_from(["coder", "schedule", "start", "dev", "1", "2", "3", "4"]).is_err()
        );
    }

    #[test]
    fn aliases_match_coders() {
        assert!(matches!(parse(&["ls"]).command, Command::List(_)));
        assert!(matches!(
            parse(&["rm", "dev", "-y"]).command,
            Command::Delete(_)
        ));
        assert!(matches!(
            parse(&["schedule", "override-stop", "dev", "90m"]).command,
            Command::Schedule(ScheduleCommand::Extend(_))
        ));
        let cli = parse(&["tokens", "rm", "ci"]);
        let Command::Tokens(TokensCommand::Remove(remove)) = cli.command else {
            panic!()
        };
        assert_eq!(remove.name_or_id, "ci");
        assert_eq!(
            cli.global.token, None,
            "the positional is not the global --token"
        );
    }

    #[test]
    fn unknown_output_formats_are_usage_errors() {
        let e = Cli::try_parse_from(["coder", "list", "-o", "yaml"]).unwrap_err();
        assert_eq!(e.exit_code(), 2);
    }
}
