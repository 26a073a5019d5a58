//! Configuration: defaults < `agon.toml` < `AGON_*` environment < command-line flags. Unknown keys and invalid
//! values stop the start with a message that names the key. This is the only place that reads the environment.

use std::path::{Path, PathBuf};

use agon_kit::telemetry::LogFormat;
use figment::{
    Figment,
    providers::{Env, Format, Serialized, Toml},
};
use serde::{Deserialize, Serialize};

/// Everything `agon` can be told.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Port of the gateway (`agon up`) or of the one service (`agon serve`).
    pub port: u16,
    /// Address to listen on.
    pub host: String,
    /// Runtime worker threads; 0 means one per core.
    pub workers: usize,
    /// Where `agon up` keeps one SQLite file per service.
    pub data_dir: PathBuf,
    /// PostgreSQL URL for `agon serve` and `agon migrate`; each service uses its own schema in it.
    pub database_url: Option<String>,
    /// Prepended to every schema name (`<prefix>users`) and RabbitMQ exchange and queue name, so installations can
    /// share one database and one RabbitMQ virtual host.
    pub schema_prefix: String,
    /// Gateway profile to load from `profiles_dir` (`--profile gymit` reads `profiles/gymit.toml`).
    pub profile: Option<String>,
    pub profiles_dir: PathBuf,
    /// Base URL of the auth service, for processes that verify tokens against its JWKS (`agon serve`).
    pub auth_url: Option<String>,
    /// RabbitMQ URL for `agon serve`: the durable event bus between processes.
    pub amqp_url: Option<String>,
    /// Redis URL for `agon serve`: state shared by replicas (revocations, rate limits, WebSocket fan-out).
    pub redis_url: Option<String>,
    /// Proxies whose `X-Forwarded-For` entries are believed (addresses or CIDR ranges): the load balancer in
    /// front of the gateway and, in `agon serve`, the gateway in front of the services. Rate limits and login
    /// throttling count the first address left of them. Default: loopback only.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Keys that seal secrets at rest (signing keys, TOTP secrets), base64 of 32 bytes (`agon secret-key`
    /// prints one). The first seals; all open, so a rotation puts the new key first and drops the old one once
    /// every process restarted. Empty with SQLite: a key file `secret.key` in `data_dir` (created 0600). Required
    /// for the auth service on PostgreSQL. A list, or one string of comma-separated keys
    /// (`AGON_SECRET_KEYS=new,old`). Never serialised or logged.
    #[serde(skip_serializing, deserialize_with = "one_or_many_secrets")]
    pub secret_keys: Vec<secrecy::SecretString>,
    pub log: LogConfig,
    pub mail: agon_kit::MailConfig,
    pub auth: agon_auth::Config,
    pub users: agon_users::Config,
    pub notifications: agon_notifications::Config,
    pub ledger: agon_ledger::Config,
    pub faces: agon_faces::Config,
    pub coaching: agon_coaching::Config,
    pub gateway: agon_gateway::Config,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    /// `json` or `pretty`; by default pretty on a terminal, JSON otherwise.
    pub format: Option<LogFormat>,
    /// Filter directives, such as `info` or `info,agon_gateway=debug`.
    pub filter: String,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            port: 8000,
            host: "127.0.0.1".into(),
            workers: 0,
            data_dir: "data".into(),
            database_url: None,
            schema_prefix: String::new(),
            profile: None,
            profiles_dir: "profiles".into(),
            auth_url: None,
            amqp_url: None,
            redis_url: None,
            trusted_proxies: agon_kit::TrustedProxies::loopback(),
            secret_keys: Vec::new(),
            log: LogConfig::default(),
            mail: Default::default(),
            auth: Default::default(),
            users: Default::default(),
            notifications: Default::default(),
            ledger: Default::default(),
            faces: Default::default(),
            coaching: Default::default(),
            gateway: Default::default(),
        }
    }
}

/// A list of secrets, or one string of comma-separated ones (the natural form of an environment variable).
fn one_or_many_secrets<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<secrecy::SecretString>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    let keys = match OneOrMany::deserialize(deserializer)? {
        OneOrMany::One(text) => text.split(',').map(str::to_owned).collect(),
        OneOrMany::Many(keys) => keys,
    };
    Ok(keys
        .into_iter()
        .map(|k| k.trim().to_owned())
        .filter(|k| !k.is_empty())
        .map(secrecy::SecretString::from)
        .collect())
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            format: None,
            filter: "info".into(),
        }
    }
}

impl Config {
    /// Loads the layers. `file` is read when given (and must exist) or when `agon.toml` exists here;
    /// `flags` holds only the flags given on the command line.
    pub fn load(file: Option<&Path>, flags: serde_json::Value) -> anyhow::Result<Self> {
        let file = match file {
            Some(path) if !path.exists() => {
                anyhow::bail!("config file {} does not exist", path.display())
            }
            Some(path) => Some(path.to_owned()),
            None => Some(Path::new("agon.toml").to_owned()).filter(|p| p.exists()),
        };
        // Built-in defaults, then a profile's `[defaults]`, then the file.
        let layers = |profile_defaults: Option<&serde_json::Map<String, serde_json::Value>>| {
            let mut base = Figment::from(Serialized::defaults(Config::default()));
            if let Some(defaults) = profile_defaults {
                base = base.merge(Serialized::defaults(defaults));
            }
            match &file {
                Some(path) => base.merge(Toml::file(path)),
                None => base,
            }
        };
        let mut base = layers(None);
        let mut config = Self::extract(base.clone(), Env::raw().only(&[]), &flags)?;
        if let Some(profile) = config.load_profile()? {
            if !profile.defaults.is_empty() {
                base = layers(Some(&profile.defaults));
                config = Self::extract(base.clone(), Env::raw().only(&[]), &flags)
                    .map_err(|e| anyhow::anyhow!("profile {} [defaults]: {e}", profile.name))?;
            }
            if !profile.settings.is_empty() {
                config = Self::with_aliases(base, &profile, &flags)?;
            }
        }
        // Checked once, on the final layers: `AGON_AUTH__ADMIN_EMAIL` with a seed's alias for the password is a
        // whole pair only once the aliases are read.
        config
            .auth
            .validate()
            .map_err(|e| anyhow::anyhow!("invalid configuration: {e}"))?;
        Ok(config)
    }

    /// This configuration with its profile's `[defaults]` laid over it: for a configuration built in code (tests),
    /// as [`Config::load`] lays them under the file for one read from it. Sections are merged one by one, so
    /// secrets that are never serialised (the admin's password) stay.
    pub fn with_profile_defaults(mut self) -> anyhow::Result<Self> {
        fn merged<T: Serialize + serde::de::DeserializeOwned>(
            current: &T,
            overlay: &serde_json::Value,
        ) -> anyhow::Result<T> {
            Ok(Figment::from(Serialized::defaults(current))
                .merge(Serialized::defaults(overlay))
                .extract()?)
        }
        let Some(profile) = self.load_profile()? else {
            return Ok(self);
        };
        for (section, overlay) in &profile.defaults {
            match section.as_str() {
                "ledger" => self.ledger = merged(&self.ledger, overlay)?,
                "faces" => self.faces = merged(&self.faces, overlay)?,
                "coaching" => self.coaching = merged(&self.coaching, overlay)?,
                "users" => self.users = merged(&self.users, overlay)?,
                "notifications" => self.notifications = merged(&self.notifications, overlay)?,
                "gateway" => self.gateway = merged(&self.gateway, overlay)?,
                other => anyhow::bail!(
                    "profile {}: [defaults] {other} is not laid over code",
                    profile.name
                ),
            }
        }
        Ok(self)
    }

    /// The layers with a profile's `[settings]`: the seed's own configuration names (`ADMIN_EMAIL`), read from the
    /// environment as aliases of Agon's settings, below `AGON_*` and flags.
    fn with_aliases(
        base: Figment,
        profile: &agon_gateway::Profile,
        flags: &serde_json::Value,
    ) -> anyhow::Result<Self> {
        let mut aliases = std::collections::BTreeMap::new();
        for (name, setting) in &profile.settings {
            // Known when setting it is at worst a type error, never an unknown field.
            let probe = base.clone().merge(Serialized::default(setting, "probe"));
            let unknown = probe.extract::<Config>().err().is_some_and(|errors| {
                errors
                    .into_iter()
                    .any(|e| matches!(e.kind, figment::error::Kind::UnknownField(..)))
            });
            if unknown {
                anyhow::bail!(
                    "profile {}: [settings] {name} = {setting:?} is not an Agon setting",
                    profile.name
                );
            }
            aliases.insert(name.to_ascii_uppercase(), setting.replace('.', "__"));
        }
        let seed = Env::raw()
            .filter_map(move |key| {
                let upper = key.as_str().to_ascii_uppercase();
                aliases.get(&upper).map(|setting| setting.clone().into())
            })
            .split("__");
        Self::extract(base, seed, flags)
    }

    /// The layers over `base`: the profile's aliases, then `AGON_*` (`AGON_GATEWAY__TIMEOUT_MS` sets
    /// `gateway.timeout_ms`; `AGON_TEST_*`, the test harness, and `AGON_CLI_*`, inputs of single commands such as
    /// a password, are not configuration), then the flags.
    fn extract(base: Figment, seed: Env, flags: &serde_json::Value) -> anyhow::Result<Self> {
        let env = Env::prefixed("AGON_").split("__").filter(|key| {
            let key = key.as_str().to_ascii_lowercase();
            !key.starts_with("test_") && !key.starts_with("cli_")
        });
        let config = base
            .merge(seed)
            .merge(env)
            .merge(Serialized::defaults(flags.clone()))
            .extract::<Config>()
            .map_err(|e| anyhow::anyhow!("invalid configuration: {e}"))?;
        Ok(config)
    }

    /// Reads the profile named in the config, if any.
    pub fn load_profile(&self) -> anyhow::Result<Option<agon_gateway::Profile>> {
        let Some(name) = &self.profile else {
            return Ok(None);
        };
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            anyhow::bail!("invalid profile name {name:?}");
        }
        let path = self.profiles_dir.join(format!("{name}.toml"));
        if !path.exists() {
            anyhow::bail!("profile {name:?} not found at {}", path.display());
        }
        Ok(Some(agon_gateway::Profile::load(name, &path)?))
    }

    pub fn log_format(&self) -> LogFormat {
        use std::io::IsTerminal;
        self.log
            .format
            .unwrap_or(if std::io::stdout().is_terminal() {
                LogFormat::Pretty
            } else {
                LogFormat::Json
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_keys_and_bad_values_name_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("agon.toml");
        std::fs::write(&path, "prot = 1\n").unwrap();
        let err = Config::load(Some(&path), serde_json::json!({}))
            .unwrap_err()
            .to_string();
        assert!(err.contains("prot"), "{err}");
        std::fs::write(&path, "[gateway]\ntimeout_ms = \"soon\"\n").unwrap();
        let err = Config::load(Some(&path), serde_json::json!({}))
            .unwrap_err()
            .to_string();
        assert!(err.contains("timeout_ms"), "{err}");
    }

    #[test]
    fn the_example_file_is_valid_configuration() {
        let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../agon.example.toml");
        let config = Config::load(Some(&example), serde_json::json!({})).unwrap();
        assert_eq!(config.trusted_proxies, agon_kit::TrustedProxies::loopback());
    }

    #[test]
    fn secret_keys_are_a_list_or_one_comma_separated_string() {
        use secrecy::ExposeSecret;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("agon.toml");
        for text in ["secret_keys = \"a, b\"\n", "secret_keys = [\"a\", \"b\"]\n"] {
            std::fs::write(&path, text).unwrap();
            let config = Config::load(Some(&path), serde_json::json!({})).unwrap();
            let keys: Vec<_> = config
                .secret_keys
                .iter()
                .map(|k| k.expose_secret().to_owned())
                .collect();
            assert_eq!(keys, ["a", "b"], "{text}");
        }
        std::fs::write(
            &path,
            "trusted_proxies = [\"10.0.0.0/8\", \"not an address\"]\n",
        )
        .unwrap();
        let err = Config::load(Some(&path), serde_json::json!({}))
            .unwrap_err()
            .to_string();
        assert!(err.contains("trusted_proxies"), "{err}");
    }

    #[test]
    fn flags_override_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("agon.toml");
        std::fs::create_dir(dir.path().join("profiles")).unwrap();
        std::fs::write(dir.path().join("profiles/x.toml"), "description = \"x\"\n").unwrap();
        let profiles = dir.path().join("profiles");
        let text = format!(
            "port = 9000\nprofile = \"x\"\nprofiles_dir = {:?}\n",
            profiles.to_str().unwrap()
        );
        std::fs::write(&path, text).unwrap();
        let config = Config::load(Some(&path), serde_json::json!({ "port": 9100 })).unwrap();
        assert_eq!(config.port, 9100);
        assert_eq!(config.profile.as_deref(), Some("x"));
        // A profile's settings must name Agon settings.
        std::fs::write(
            dir.path().join("profiles/x.toml"),
            "description = \"x\"\n[settings]\nADMIN_EMAIL = \"auth.admin_emial\"\n",
        )
        .unwrap();
        let err = Config::load(Some(&path), serde_json::json!({}))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("ADMIN_EMAIL = \"auth.admin_emial\" is not an Agon setting"),
            "{err}"
        );
    }
}
