//! `courtroom admin`: account administration from the command line, chiefly
//! `courtroom admin create-user`, which makes the first portal account.
//!
//! The password is read from the first line of standard input (so it never appears in the
//! process list or the shell history): `echo "$PASSWORD" | courtroom admin create-user li`.

use std::io::BufRead;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};

use super::session::create_user;
use crate::config::{Settings, Sources};
use crate::store::audit::actions;
use crate::store::{AccountRole, AuditEvent, Store};

/// Options of `courtroom admin`.
#[derive(Debug, Clone, Args)]
pub struct AdminArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: AdminCommand,
    /// TOML configuration file (for `database_url` and `data_dir`).
    #[arg(long, value_name = "FILE", global = true)]
    pub config: Option<PathBuf>,
    /// Data folder (key `data_dir`).
    #[arg(long, value_name = "DIR", global = true)]
    pub data: Option<PathBuf>,
    /// Override a configuration key, e.g. `--set database_url=postgres://...`. Repeatable.
    #[arg(long = "set", value_name = "KEY=VALUE", global = true)]
    pub sets: Vec<String>,
}

/// `courtroom admin` subcommands.
#[derive(Debug, Clone, Subcommand)]
pub enum AdminCommand {
    /// Create a portal account. The password is the first line of standard input.
    CreateUser {
        /// Login name.
        username: String,
        /// Name shown in the portal and the audit trail (default: the login name).
        #[arg(long, default_value = "")]
        name: String,
        /// `clerk` or `admin`.
        #[arg(long, default_value = "clerk", value_parser = parse_role)]
        role: AccountRole,
    },
    /// List portal accounts.
    ListUsers,
    /// Check the audit trail's hash chain.
    VerifyAudit,
    /// Retire a cluster's invitation and recording keys and make new ones (PostgreSQL). Restart
    /// the nodes one by one afterwards; old invitations and recordings still verify.
    RotateKeys,
}

fn parse_role(s: &str) -> Result<AccountRole, String> {
    s.parse().map_err(|_| "clerk or admin".to_owned())
}

/// Runs `courtroom admin ...`.
pub fn admin_command(args: &AdminArgs) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("courtroom admin: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(args, &mut std::io::stdin().lock())) {
        Ok(message) => {
            println!("{message}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("courtroom admin: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Runs an admin command with `input` as standard input; returns what to print.
pub async fn run(args: &AdminArgs, input: &mut dyn BufRead) -> anyhow::Result<String> {
    let mut sets = Vec::new();
    if let Some(data) = &args.data {
        sets.push(format!("data_dir=\"{}\"", data.display()));
    }
    sets.extend(args.sets.iter().cloned());
    let settings = Settings::load(&Sources {
        file: args.config.clone(),
        sets,
    })?;
    std::fs::create_dir_all(&settings.data_dir)?;
    let store = Store::open(&settings.database_url()).await?;
    match &args.command {
        AdminCommand::CreateUser {
            username,
            name,
            role,
        } => {
            let mut password = String::new();
            input.read_line(&mut password)?;
            let password = password.trim_end_matches(['\r', '\n']);
            let user = create_user(&store, username, name, *role, password).await?;
            store
                .append_audit(&AuditEvent::new(
                    "system:cli",
                    actions::USER_CREATED,
                    None,
                    serde_json::json!({ "username": user.username, "role": user.role }),
                ))
                .await?;
            Ok(format!("created {} account {:?}", user.role, user.username))
        }
        AdminCommand::ListUsers => Ok(store
            .list_users()
            .await?
            .iter()
            .map(|u| {
                format!(
                    "{}\t{}\t{}{}",
                    u.username,
                    u.role,
                    u.display_name,
                    if u.disabled { "\t(disabled)" } else { "" }
                )
            })
            .collect::<Vec<_>>()
            .join("\n")),
        AdminCommand::VerifyAudit => {
            let n = store.verify_audit_chain().await?;
            Ok(format!("audit trail intact: {n} entries"))
        }
        AdminCommand::RotateKeys => {
            let (invitation, recording) = super::keys::rotate_keys(&store).await?;
            store
                .append_audit(&AuditEvent::new(
                    "system:cli",
                    "keys_rotated",
                    None,
                    serde_json::json!({ "invitation_key": invitation, "recording_key": recording }),
                ))
                .await?;
            Ok(format!(
                "new invitation key {invitation}, new recording key {recording}; restart the nodes one by one"
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(dir: &std::path::Path, command: AdminCommand) -> AdminArgs {
        AdminArgs {
            command,
            config: None,
            data: Some(dir.to_owned()),
            sets: Vec::new(),
        }
    }

    #[tokio::test]
    async fn create_user_reads_the_password_from_stdin_and_refuses_duplicates() {
        let dir = tempfile::tempdir().unwrap();
        let create = args(
            dir.path(),
            AdminCommand::CreateUser {
                username: "li".into(),
                name: "Clerk Li".into(),
                role: AccountRole::Admin,
            },
        );
        let out = run(&create, &mut &b"a long password\n"[..]).await.unwrap();
        assert_eq!(out, "created admin account \"li\"");
        let again = run(&create, &mut &b"a long password\n"[..]).await;
        assert!(again.unwrap_err().to_string().contains("already exists"));
        let short = AdminArgs {
            command: AdminCommand::CreateUser {
                username: "wu".into(),
                name: String::new(),
                role: AccountRole::Clerk,
            },
            ..create.clone()
        };
        assert!(run(&short, &mut &b"short\n"[..]).await.is_err());
        let store = Store::open(
            &Settings::default()
                .database_url()
                .replace("./data", &dir.path().display().to_string()),
        )
        .await
        .unwrap();
        let (user, hash) = store.user_by_name("li").await.unwrap().unwrap();
        assert_eq!(user.display_name, "Clerk Li");
        assert!(crate::api::session::verify_password(
            "a long password",
            &hash
        ));
        let list = run(&args(dir.path(), AdminCommand::ListUsers), &mut &b""[..])
            .await
            .unwrap();
        assert_eq!(list, "li\tadmin\tClerk Li");
        let audit = run(&args(dir.path(), AdminCommand::VerifyAudit), &mut &b""[..])
            .await
            .unwrap();
        assert_eq!(audit, "audit trail intact: 1 entries");
    }
}
