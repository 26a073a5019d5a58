/// Settings of the auth service; assembled by the `agon` binary.
#[derive(Debug, Clone, serde::Deserialize, serde::Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Lifetime of an access token, in seconds.
    pub access_token_ttl_secs: i64,
    /// Lifetime of a session (and so of its refresh tokens), in seconds.
    pub session_ttl_secs: i64,
    /// Argon2id memory cost in KiB (OWASP minimum 19 MiB).
    pub argon2_memory_kib: u32,
    /// Argon2id iterations (OWASP minimum 2 at 19 MiB).
    pub argon2_iterations: u32,
    /// Password hashes computed at once; more wait, so a login burst cannot take every core.
    /// 0 means the number of cores.
    pub max_concurrent_hashes: usize,
    /// Failed password checks allowed per account in `failure_window_secs`; further attempts get 429 without
    /// being evaluated (ASVS 2.2.1: at most 100 per hour). Never a permanent lockout: the window slides.
    pub max_failures_per_account: i64,
    /// Failed password checks allowed per client address in the window (credential stuffing across accounts).
    pub max_failures_per_ip: i64,
    pub failure_window_secs: i64,
    /// Seconds between publishing a rotated signing key and signing with it; longer than other processes take
    /// to reload the JWKS (60 s).
    pub key_publish_delay_secs: i64,
    /// Roles whose accounts must use TOTP: without it, a password login leads to enrolment first.
    pub mfa_required_roles: Vec<agon_kit::Role>,
    /// OpenID Connect providers users may log in with.
    pub sso: Vec<crate::sso::ProviderConfig>,
    /// URL prefixes an SSO login may send the browser back to (open-redirect protection).
    pub sso_redirects: Vec<String>,
    /// Public base URL of the platform, for links in emails and the SSO callback.
    pub public_url: String,
    /// Lifetime of a password-reset token, in seconds (at most 1800).
    pub reset_token_ttl_secs: i64,
    /// The first administrator, created at start when no account has this email (`AGON_AUTH__ADMIN_EMAIL`).
    pub admin_email: Option<String>,
    /// Its initial password (`AGON_AUTH__ADMIN_PASSWORD`); never serialised or logged.
    #[serde(skip_serializing)]
    pub admin_password: Option<secrecy::SecretString>,
    /// Its display name (default `Administrator`).
    pub admin_name: Option<String>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            access_token_ttl_secs: 900,
            session_ttl_secs: 30 * 24 * 3600,
            argon2_memory_kib: 19 * 1024,
            argon2_iterations: 2,
            max_concurrent_hashes: 0,
            key_publish_delay_secs: 120,
            mfa_required_roles: Vec::new(),
            sso: Vec::new(),
            sso_redirects: Vec::new(),
            public_url: "http://127.0.0.1:8000".into(),
            reset_token_ttl_secs: 1800,
            max_failures_per_account: 100,
            max_failures_per_ip: 1000,
            failure_window_secs: 3600,
            admin_email: None,
            admin_password: None,
            admin_name: None,
        }
    }
}

impl Config {
    /// Refuses settings weaker than the OWASP floor or that make no sense.
    pub fn validate(&self) -> anyhow::Result<()> {
        if self.argon2_memory_kib < 19 * 1024 || self.argon2_iterations < 2 {
            anyhow::bail!(
                "auth.argon2_memory_kib must be ≥ 19456 and auth.argon2_iterations ≥ 2 (OWASP)"
            );
        }
        if !(60..=3600).contains(&self.access_token_ttl_secs) {
            anyhow::bail!("auth.access_token_ttl_secs must be between 60 and 3600");
        }
        if self.session_ttl_secs < self.access_token_ttl_secs {
            anyhow::bail!("auth.session_ttl_secs must be at least auth.access_token_ttl_secs");
        }
        if self.max_failures_per_account < 1
            || self.max_failures_per_ip < 1
            || self.failure_window_secs < 1
        {
            anyhow::bail!(
                "auth.max_failures_per_account, max_failures_per_ip and failure_window_secs must be positive"
            );
        }
        if self.key_publish_delay_secs < 0 {
            anyhow::bail!("auth.key_publish_delay_secs must not be negative");
        }
        if !(60..=1800).contains(&self.reset_token_ttl_secs) {
            anyhow::bail!("auth.reset_token_ttl_secs must be between 60 and 1800");
        }
        if self.admin_email.is_some() != self.admin_password.is_some() {
            anyhow::bail!("auth.admin_email and auth.admin_password must be given together");
        }
        if let Some(name) = &self.admin_name {
            crate::domain::display_name(Some(name.clone()))
                .map_err(|e| anyhow::anyhow!("auth.admin_name {}", e.message))?;
        }
        if let Some(email) = &self.admin_email {
            crate::domain::Email::parse(email)
                .map_err(|e| anyhow::anyhow!("auth.admin_email {}", e.message))?;
        }
        if let Some(password) = &self.admin_password {
            use secrecy::ExposeSecret;
            crate::domain::check_password(password.expose_secret())
                .map_err(|e| anyhow::anyhow!("auth.admin_password {}", e.message))?;
        }
        Ok(())
    }
}
