//! Configuration: built-in defaults, then an optional `beseda.toml`, then `BESEDA_*` environment
//! variables. A wrong setting stops start-up with one line naming it.

use beseda_web::http::auth::TrustedProxies;
use beseda_web::outbound::AddressPolicy;
use serde::Deserialize;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// A setting that cannot be used, named as the operator wrote it.
#[derive(Debug, thiserror::Error)]
#[error("configuration: {setting}: {message}")]
pub struct ConfigError {
    pub setting: String,
    pub message: String,
}

/// A whole number setting within `range`, `default` when not given.
fn number(
    setting: &str,
    raw: Option<String>,
    default: u64,
    range: std::ops::RangeInclusive<u64>,
    unit: &str,
) -> Result<u64, ConfigError> {
    let Some(raw) = raw else {
        return Ok(default);
    };
    match raw.parse::<u64>() {
        Ok(n) if range.contains(&n) => Ok(n),
        _ => Err(bad(
            setting,
            format!(
                "{raw:?} is not a number of {unit} from {} to {}",
                range.start(),
                range.end()
            ),
        )),
    }
}

fn bad(setting: &str, message: impl Into<String>) -> ConfigError {
    ConfigError {
        setting: setting.to_owned(),
        message: message.into(),
    }
}

/// A platform's API address: http(s), the platform's own unless given.
fn api_address(setting: &str, given: Option<String>, default: &str) -> Result<String, ConfigError> {
    let address = given.unwrap_or_else(|| default.to_owned());
    if address.starts_with("https://") || address.starts_with("http://") {
        Ok(address)
    } else {
        Err(bad(
            setting,
            format!("{address:?} is not an http(s) address"),
        ))
    }
}

/// Which database to use, chosen by the URL's scheme.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DatabaseUrl {
    Sqlite(String),
    Postgres(String),
}

impl DatabaseUrl {
    pub fn parse(raw: &str) -> Result<DatabaseUrl, ConfigError> {
        if raw.starts_with("sqlite:") {
            Ok(DatabaseUrl::Sqlite(raw.to_owned()))
        } else if raw.starts_with("postgres://") || raw.starts_with("postgresql://") {
            Ok(DatabaseUrl::Postgres(raw.to_owned()))
        } else {
            Err(bad(
                "BESEDA_DATABASE_URL",
                format!(
                    "{:?} must start with sqlite:// or postgres://",
                    redact_url(raw)
                ),
            ))
        }
    }
}

/// A URL with any password replaced, for messages and logs.
pub fn redact_url(raw: &str) -> String {
    match (raw.find("://"), raw.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &raw[s + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &raw[..s + 3], &raw[at..]),
                None => raw.to_owned(),
            }
        }
        _ => raw.to_owned(),
    }
}

#[derive(Clone)]
pub struct Config {
    pub database_url: DatabaseUrl,
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    /// How browsers reach the server; `https://` turns on Secure cookies.
    pub public_url: String,
    /// Keys the hashes of session and API tokens; read from the data directory when not given.
    pub session_secret: Option<String>,
    pub admin_email: Option<String>,
    pub admin_password: Option<String>,
    /// A tracing filter, e.g. `info` or `beseda=debug,info`.
    pub log: String,
    /// Where attachments live: a local directory (`file:///path`, by default the data
    /// directory's `files/`) or S3-compatible storage (`s3://bucket`, built with `--features s3`;
    /// credentials, region and endpoint from the usual `AWS_*` variables).
    pub storage_url: String,
    /// How long a delivery worker holds an outgoing message before another worker (on this or
    /// another node) may take it over, e.g. after a crash.
    pub delivery_lease: std::time::Duration,
    /// `serve --demo`: the mean time between the simulated clients' messages; `None`: the
    /// living demo is off (`BESEDA_DEMO_LIVE_SECS=0`).
    pub demo_live: Option<std::time::Duration>,
    /// Private address ranges that modules' webhooks and files given by address may reach
    /// (everything private is refused otherwise), e.g. `10.0.0.0/8` for modules on the
    /// company's own network.
    pub outbound_allow: AddressPolicy,
    /// How long the event log keeps events for screens that reconnect and for audit.
    pub event_retention: std::time::Duration,
    /// The Telegram Bot API's address (`https://api.telegram.org`; a self-hosted Bot API server
    /// or a test's fake otherwise).
    pub telegram_api: String,
    /// How long one long poll of Telegram waits for an update.
    pub poll_wait: std::time::Duration,
    /// The VK API's address (`https://api.vk.com`; a test's fake otherwise).
    pub vk_api: String,
    /// Meta's Graph API address (`https://graph.facebook.com`; a test's fake otherwise).
    pub graph_api: String,
    /// Reverse proxies in front of the server, whose `X-Forwarded-For` names the client.
    pub trusted_proxies: TrustedProxies,
    /// Files are refused when the local attachments' disk has less than this free.
    pub min_free_disk_bytes: u64,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let db = match &self.database_url {
            DatabaseUrl::Sqlite(u) | DatabaseUrl::Postgres(u) => redact_url(u),
        };
        f.debug_struct("Config")
            .field("database_url", &db)
            .field("listen", &self.listen)
            .field("data_dir", &self.data_dir)
            .field("public_url", &self.public_url)
            .field(
                "session_secret",
                &self.session_secret.as_ref().map(|_| "***"),
            )
            .field("admin_email", &self.admin_email)
            .field(
                "admin_password",
                &self.admin_password.as_ref().map(|_| "***"),
            )
            .field("log", &self.log)
            .field("storage_url", &self.storage_url)
            .field("delivery_lease", &self.delivery_lease)
            .field("demo_live", &self.demo_live)
            .field("outbound_allow", &self.outbound_allow)
            .field("event_retention", &self.event_retention)
            .field("telegram_api", &self.telegram_api)
            .field("vk_api", &self.vk_api)
            .field("graph_api", &self.graph_api)
            .field("poll_wait", &self.poll_wait)
            .field("trusted_proxies", &self.trusted_proxies)
            .field("min_free_disk_bytes", &self.min_free_disk_bytes)
            .finish()
    }
}

/// The settings a `beseda.toml` may hold; the same names as the environment, lower case.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    database_url: Option<String>,
    listen: Option<String>,
    data_dir: Option<String>,
    public_url: Option<String>,
    session_secret: Option<String>,
    admin_email: Option<String>,
    admin_password: Option<String>,
    log: Option<String>,
    storage_url: Option<String>,
    delivery_lease_secs: Option<String>,
    demo_live_secs: Option<String>,
    outbound_allow: Option<String>,
    event_retention_days: Option<String>,
    trusted_proxies: Option<String>,
    min_free_disk_mb: Option<String>,
    telegram_api: Option<String>,
    vk_api: Option<String>,
    graph_api: Option<String>,
    telegram_poll_secs: Option<String>,
}

impl Config {
    /// Loads the configuration. `file` is the explicit config file (it must exist); without
    /// one, `./beseda.toml` is read when present. `env` looks up environment variables.
    pub fn load(
        file: Option<&Path>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        let file_cfg = match file {
            Some(path) => read_file(path)?,
            None if Path::new("beseda.toml").exists() => read_file(Path::new("beseda.toml"))?,
            None => FileConfig::default(),
        };
        let pick = |env_name: &str, from_file: Option<String>| {
            env(env_name).filter(|v| !v.is_empty()).or(from_file)
        };

        let data_dir = PathBuf::from(
            pick("BESEDA_DATA_DIR", file_cfg.data_dir).unwrap_or_else(|| "./beseda-data".into()),
        );
        let database_url = match pick("BESEDA_DATABASE_URL", file_cfg.database_url) {
            Some(url) => DatabaseUrl::parse(&url)?,
            None => {
                DatabaseUrl::Sqlite(format!("sqlite://{}", data_dir.join("beseda.db").display()))
            }
        };
        let listen_raw =
            pick("BESEDA_LISTEN", file_cfg.listen).unwrap_or_else(|| "127.0.0.1:8080".into());
        let listen: SocketAddr = listen_raw.parse().map_err(|_| {
            bad(
                "BESEDA_LISTEN",
                format!("{listen_raw:?} is not an address like 127.0.0.1:8080"),
            )
        })?;
        let public_url = match pick("BESEDA_PUBLIC_URL", file_cfg.public_url) {
            Some(url) if url.starts_with("http://") || url.starts_with("https://") => {
                url.trim_end_matches('/').to_owned()
            }
            Some(url) => {
                return Err(bad(
                    "BESEDA_PUBLIC_URL",
                    format!("{url:?} must start with http:// or https://"),
                ));
            }
            None => format!("http://{listen}"),
        };
        let session_secret = pick("BESEDA_SESSION_SECRET", file_cfg.session_secret);
        if session_secret.as_ref().is_some_and(|s| s.len() < 32) {
            return Err(bad(
                "BESEDA_SESSION_SECRET",
                "must have at least 32 characters",
            ));
        }
        let log = pick("BESEDA_LOG", file_cfg.log).unwrap_or_else(|| "info".into());
        tracing_subscriber::EnvFilter::try_new(&log)
            .map_err(|e| bad("BESEDA_LOG", e.to_string()))?;
        let storage_url = match pick("BESEDA_STORAGE_URL", file_cfg.storage_url) {
            Some(url) if url.starts_with("file:///") || url.starts_with("s3://") => url,
            Some(url) => {
                return Err(bad(
                    "BESEDA_STORAGE_URL",
                    format!("{url:?} must be file:///a/directory or s3://bucket"),
                ));
            }
            None => format!("file://{}", absolute(&data_dir.join("files")).display()),
        };
        let delivery_lease = std::time::Duration::from_secs(number(
            "BESEDA_DELIVERY_LEASE_SECS",
            pick("BESEDA_DELIVERY_LEASE_SECS", file_cfg.delivery_lease_secs),
            30,
            2..=3600,
            "seconds",
        )?);
        let live_raw =
            pick("BESEDA_DEMO_LIVE_SECS", file_cfg.demo_live_secs).unwrap_or("20".into());
        let demo_live = match live_raw.parse::<u64>() {
            Ok(0) => None,
            Ok(s) if s <= 86_400 => Some(std::time::Duration::from_secs(s)),
            _ => {
                return Err(bad(
                    "BESEDA_DEMO_LIVE_SECS",
                    format!("{live_raw:?} is not a number of seconds up to 86400 (0: off)"),
                ));
            }
        };
        let outbound_allow = AddressPolicy::parse(
            &pick("BESEDA_OUTBOUND_ALLOW", file_cfg.outbound_allow).unwrap_or_default(),
        )
        .map_err(|e| bad("BESEDA_OUTBOUND_ALLOW", e))?;
        let retention_days = number(
            "BESEDA_EVENT_RETENTION_DAYS",
            pick("BESEDA_EVENT_RETENTION_DAYS", file_cfg.event_retention_days),
            30,
            1..=3650,
            "days",
        )?;
        let event_retention = std::time::Duration::from_secs(retention_days * 24 * 3600);
        let trusted_proxies = TrustedProxies::parse(
            &pick("BESEDA_TRUSTED_PROXIES", file_cfg.trusted_proxies).unwrap_or_default(),
        )
        .map_err(|e| bad("BESEDA_TRUSTED_PROXIES", e))?;
        let min_free_disk_bytes = number(
            "BESEDA_MIN_FREE_DISK_MB",
            pick("BESEDA_MIN_FREE_DISK_MB", file_cfg.min_free_disk_mb),
            1024,
            0..=1 << 30,
            "megabytes",
        )? * 1024
            * 1024;
        let telegram_api = api_address(
            "BESEDA_TELEGRAM_API",
            pick("BESEDA_TELEGRAM_API", file_cfg.telegram_api),
            beseda_channels::telegram::DEFAULT_API,
        )?;
        let vk_api = api_address(
            "BESEDA_VK_API",
            pick("BESEDA_VK_API", file_cfg.vk_api),
            beseda_channels::vk::DEFAULT_API,
        )?;
        let graph_api = api_address(
            "BESEDA_GRAPH_API",
            pick("BESEDA_GRAPH_API", file_cfg.graph_api),
            beseda_channels::meta::DEFAULT_API,
        )?;
        let poll_wait = std::time::Duration::from_secs(number(
            "BESEDA_TELEGRAM_POLL_SECS",
            pick("BESEDA_TELEGRAM_POLL_SECS", file_cfg.telegram_poll_secs),
            25,
            1..=25,
            "seconds",
        )?);
        Ok(Config {
            poll_wait,
            telegram_api,
            vk_api,
            graph_api,
            min_free_disk_bytes,
            trusted_proxies,
            event_retention,
            outbound_allow,
            demo_live,
            delivery_lease,
            storage_url,
            database_url,
            listen,
            data_dir,
            public_url,
            session_secret,
            admin_email: pick("BESEDA_ADMIN_EMAIL", file_cfg.admin_email),
            admin_password: pick("BESEDA_ADMIN_PASSWORD", file_cfg.admin_password),
            log,
        })
    }

    /// Cookies carry the Secure flag when browsers come over https.
    pub fn secure_cookies(&self) -> bool {
        self.public_url.starts_with("https://")
    }
}

/// The directory as an absolute path (a `file://` URL needs one), without touching the disk.
fn absolute(dir: &Path) -> PathBuf {
    std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf())
}

fn read_file(path: &Path) -> Result<FileConfig, ConfigError> {
    let setting = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| bad(&setting, e.to_string()))?;
    toml::from_str(&text).map_err(|e| {
        // toml's own message spans several lines; keep it to one, with the line number.
        let line = e
            .span()
            .map_or(1, |span| text[..span.start].matches('\n').count() + 1);
        bad(&setting, format!("line {line}: {}", e.message()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn load(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect();
        Config::load(None, |k| map.get(k).cloned())
    }

    #[test]
    fn no_configuration_at_all_gives_the_embedded_default() {
        let c = load(&[]).unwrap();
        assert_eq!(
            c.database_url,
            DatabaseUrl::Sqlite("sqlite://./beseda-data/beseda.db".into())
        );
        assert_eq!(c.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(c.public_url, "http://127.0.0.1:8080");
        assert!(!c.secure_cookies());
    }

    #[test]
    fn environment_overrides_and_selects_postgres() {
        let c = load(&[
            ("BESEDA_DATABASE_URL", "postgres://u:pw@db/beseda"),
            ("BESEDA_PUBLIC_URL", "https://chat.example.com/"),
        ])
        .unwrap();
        assert_eq!(
            c.database_url,
            DatabaseUrl::Postgres("postgres://u:pw@db/beseda".into())
        );
        assert_eq!(c.public_url, "https://chat.example.com");
        assert!(c.secure_cookies());
        assert!(
            !format!("{c:?}").contains("pw@"),
            "the password stays out of Debug"
        );
    }

    #[test]
    fn the_data_directory_holds_the_default_database() {
        let c = load(&[("BESEDA_DATA_DIR", "/srv/beseda")]).unwrap();
        assert_eq!(
            c.database_url,
            DatabaseUrl::Sqlite("sqlite:///srv/beseda/beseda.db".into())
        );
    }

    #[test]
    fn a_wrong_setting_is_named_in_one_line() {
        for (var, value) in [
            ("BESEDA_DATABASE_URL", "mysql://x"),
            ("BESEDA_LISTEN", "localhost"),
            ("BESEDA_PUBLIC_URL", "chat.example.com"),
            ("BESEDA_SESSION_SECRET", "short"),
        ] {
            let e = load(&[(var, value)]).unwrap_err().to_string();
            assert!(e.contains(var) && !e.contains('\n'), "{e}");
        }
    }

    #[test]
    fn a_config_file_is_read_and_unknown_keys_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("beseda.toml");
        std::fs::write(&path, "listen = \"0.0.0.0:9000\"\n").unwrap();
        let c = Config::load(Some(&path), |_| None).unwrap();
        assert_eq!(c.listen.to_string(), "0.0.0.0:9000");
        let from_env = Config::load(Some(&path), |k| {
            (k == "BESEDA_LISTEN").then(|| "127.0.0.1:1".to_owned())
        })
        .unwrap();
        assert_eq!(
            from_env.listen.to_string(),
            "127.0.0.1:1",
            "the environment wins over the file"
        );
        std::fs::write(&path, "lisen = \"x\"\n").unwrap();
        let e = Config::load(Some(&path), |_| None).unwrap_err().to_string();
        assert!(e.contains("lisen") && !e.contains('\n'), "{e}");
    }

    #[test]
    fn passwords_in_urls_are_redacted() {
        assert_eq!(
            redact_url("postgres://u:secret@h/db"),
            "postgres://u:***@h/db"
        );
        assert_eq!(redact_url("postgres://u@h/db"), "postgres://u@h/db");
    }
}
