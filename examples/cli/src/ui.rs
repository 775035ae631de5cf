//! The terminal: whether to draw a spinner, prompts and confirmations, and the live view of
//! a provisioner job (spinner + stage timings on a terminal, plain lines otherwise, only the
//! summary with `--quiet`).

use std::future::Future;
use std::io::{BufRead, IsTerminal, Write};
use std::time::{Duration, Instant};

use coder_client::stream::{Connection, LogStream};
use coder_core::model::{ProvisionerJob, ProvisionerJobLog, ProvisionerJobStatus};
use futures_util::StreamExt;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tokio::sync::watch;

use crate::duration::format_elapsed;
use crate::error::{CliError, Result};
use crate::stages::{StageEvent, StageTracker};

/// How output reaches the user.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ui {
    /// `--quiet`: summaries only.
    pub(crate) quiet: bool,
    /// `--verbose`: more detail in errors.
    pub(crate) verbose: bool,
    /// Whether stderr is a terminal (spinner) .
    pub(crate) interactive: bool,
    /// Whether stdin is a terminal (prompts).
    pub(crate) can_prompt: bool,
}

impl Ui {
    /// Detects the terminals.
    pub(crate) fn detect(quiet: bool, verbose: bool) -> Self {
        Self {
            quiet,
            verbose,
            interactive: std::io::stderr().is_terminal(),
            can_prompt: std::io::stdin().is_terminal(),
        }
    }

    /// Asks `question`; `yes` (from `--yes`) answers for the user.
    pub(crate) fn confirm(&self, question: &str, yes: bool) -> Result<()> {
        if yes {
            return Ok(());
        }
        if !self.can_prompt {
            return Err(CliError::NoTerminal(question.to_owned(), "--yes"));
        }
        let answer = self.prompt(&format!("{question} (yes/no)"))?;
        match answer.to_ascii_lowercase().as_str() {
            "y" | "yes" => Ok(()),
            _ => Err(CliError::Canceled),
        }
    }

    /// Reads one line after showing `label`; `flag` names the option to use without a
    /// terminal.
    pub(crate) fn ask(&self, label: &str, flag: &'static str) -> Result<String> {
        if !self.can_prompt {
            return Err(CliError::NoTerminal(format!("missing {label}"), flag));
        }
        self.prompt(label)
    }

    /// Reads a password without echo.
    pub(crate) fn ask_password(&self, label: &str, flag: &'static str) -> Result<String> {
        if !self.can_prompt {
            return Err(CliError::NoTerminal(format!("missing {label}"), flag));
        }
        Ok(rpassword::prompt_password(format!("> {label}: "))?)
    }

    fn prompt(&self, label: &str) -> Result<String> {
        let mut stderr = std::io::stderr();
        write!(stderr, "> {label}: ")?;
        stderr.flush()?;
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        Ok(line.trim().to_owned())
    }

    /// Shows a provisioner job live from its log stream until it ends, and returns the
    /// finished job. `fetch` reads the job (to learn its final state once the logs end).
    /// While the server is away the view says so and keeps trying, so the last line is the
    /// job's real outcome; Ctrl-C stops watching (the job goes on on the server) with
    /// `on_interrupt` telling the user how to follow or stop it.
    pub(crate) async fn follow_job<F, Fut>(
        &self,
        logs: coder_client::Result<LogStream>,
        mut fetch: F,
        on_interrupt: &str,
    ) -> Result<(ProvisionerJob, Duration)>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<ProvisionerJob>>,
    {
        let started = Instant::now();
        let view = JobView::new(*self);
        let mut tracker = StageTracker::default();
        let mut logs = logs.map_err(CliError::api("follow logs"))?;
        let interrupted = || {
            view.clear();
            CliError::Interrupted(on_interrupt.to_owned())
        };
        let ctrl_c = tokio::signal::ctrl_c();
        tokio::pin!(ctrl_c);
        let mut notes = ConnectionNotes::default();
        let drained = drain_logs(
            &mut logs,
            &mut notes,
            |line| {
                for event in tracker.feed(line) {
                    view.show(&event);
                }
                Ok(())
            },
            |note| view.connection(self, Some(note)),
        );
        tokio::select! {
            r = drained => r?,
            _ = &mut ctrl_c => return Err(interrupted()),
        }
        let mut failures = 0;
        let job = loop {
            let wait = match fetch().await {
                Ok(job) if job.status.is_terminal() => break job,
                Ok(job) => {
                    failures = 0;
                    view.connection(self, notes.text(&Connection::Connected));
                    view.waiting(&job.status);
                    Duration::from_millis(250)
                }
                Err(e) if e.is_unreachable() => {
                    failures += 1;
                    let retry_in = coder_core::backoff::reconnect_delay(failures)
                        .to_std()
                        .unwrap_or(Duration::from_secs(1));
                    let state = Connection::Reconnecting {
                        attempt: failures,
                        retry_in,
                    };
                    view.connection(self, notes.text(&state));
                    retry_in
                }
                Err(e) => return Err(e),
            };
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                _ = &mut ctrl_c => return Err(interrupted()),
            }
        };
        let ok = job.status == ProvisionerJobStatus::Succeeded;
        let end = job.completed_at.unwrap_or_else(chrono::Utc::now);
        if let Some(event) = tracker.finish(end, ok) {
            view.show(&event);
        }
        view.clear();
        Ok((job, started.elapsed()))
    }

    /// Prints a result line on stdout (shown even with `--quiet`).
    pub(crate) fn result(&self, line: &str) -> Result<()> {
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "{line}")?;
        Ok(())
    }

    /// Prints progress or a hint on stderr (hidden with `--quiet`).
    pub(crate) fn note(&self, line: &str) {
        if !self.quiet {
            eprintln!("{line}");
        }
    }
}

/// Feeds each line of `logs` to `on_line` and each connection note ([`ConnectionNotes`]) to
/// `on_note` until the stream ends.
pub(crate) async fn drain_logs(
    logs: &mut LogStream,
    notes: &mut ConnectionNotes,
    mut on_line: impl FnMut(&ProvisionerJobLog) -> Result<()>,
    mut on_note: impl FnMut(String),
) -> Result<()> {
    let mut connection = logs.connection();
    loop {
        tokio::select! {
            line = logs.next() => {
                let Some(line) = line else { return Ok(()) };
                on_line(&line.map_err(CliError::api("follow logs"))?)?;
            }
            Ok(()) = connection.changed() => {
                if let Some(note) = notes.changed(&mut connection) {
                    on_note(note);
                }
            }
        }
    }
}

/// What to tell the user about a stream's connection: each loss (with the next retry) and
/// the return after one; the first connection is not news.
#[derive(Debug, Default)]
pub(crate) struct ConnectionNotes {
    lost: bool,
}

impl ConnectionNotes {
    /// The note for the state `rx` just changed to, if it is news.
    pub(crate) fn changed(&mut self, rx: &mut watch::Receiver<Connection>) -> Option<String> {
        let state = rx.borrow_and_update().clone();
        self.text(&state)
    }

    /// The note for `state`, if it is news.
    pub(crate) fn text(&mut self, state: &Connection) -> Option<String> {
        match state {
            Connection::Connecting => None,
            Connection::Connected if !self.lost => None,
            Connection::Connected => {
                self.lost = false;
                Some("--- connection to the server is back".to_owned())
            }
            Connection::Reconnecting { attempt, retry_in } => {
                self.lost = true;
                Some(format!(
                    "--- lost connection to the server, retrying in {} (attempt {attempt})",
                    format_elapsed(*retry_in)
                ))
            }
        }
    }
}

/// The live rendering of one job.
enum JobView {
    /// A spinner on the terminal with finished stages and log lines above it.
    Spinner(ProgressBar),
    /// Plain lines on stdout (not a terminal).
    Plain,
    /// Nothing (`--quiet`).
    Quiet,
}

impl JobView {
    fn new(ui: Ui) -> Self {
        if ui.quiet {
            return JobView::Quiet;
        }
        if !ui.interactive {
            return JobView::Plain;
        }
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        let style = ProgressStyle::with_template("{spinner} {msg} [{elapsed}]")
            .unwrap_or_else(|_| ProgressStyle::default_spinner());
        bar.set_style(style.tick_chars("⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏ "));
        bar.set_message("Queued");
        bar.enable_steady_tick(Duration::from_millis(100));
        JobView::Spinner(bar)
    }

    fn show(&self, event: &StageEvent) {
        let line = match event {
            StageEvent::Started(stage) => {
                if let JobView::Spinner(bar) = self {
                    bar.reset_elapsed();
                    bar.set_message(stage.clone());
                }
                format!("==> ⧗ {stage}")
            }
            StageEvent::Done { stage, took, ok } => {
                let mark = if *ok { '✔' } else { '✘' };
                format!("=== {mark} {stage} [{}]", format_elapsed(*took))
            }
            StageEvent::Line(text) => text
                .trim_end()
                .lines()
                .map(|l| format!("    {l}"))
                .collect::<Vec<_>>()
                .join("\n"),
        };
        match self {
            JobView::Spinner(bar) => bar.println(line),
            JobView::Plain => println!("{line}"),
            JobView::Quiet => {}
        }
    }

    /// Shows a connection note ([`ConnectionNotes`]), if there is one.
    fn connection(&self, ui: &Ui, note: Option<String>) {
        let Some(text) = note else { return };
        match self {
            JobView::Spinner(bar) => {
                bar.set_message(text.trim_start_matches("--- ").to_owned());
                bar.println(text);
            }
            JobView::Plain => ui.note(&text),
            JobView::Quiet => {}
        }
    }

    fn waiting(&self, status: &ProvisionerJobStatus) {
        if let JobView::Spinner(bar) = self {
            bar.set_message(format!("Waiting for the job ({status})"));
        }
    }

    fn clear(&self) {
        if let JobView::Spinner(bar) = self {
            bar.finish_and_clear();
        }
    }
}
