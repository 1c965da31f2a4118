//! [`DigestSender`]: one e-mail per opted-in user and period, once across portal nodes.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use cartable_socle::digest::{self, DigestOptIns, Marker};
use cartable_socle::{
    AccountLifecycle, AccountStatus, DelegationError, DelegationPolicy, Delegations, Directory,
    GroupError, GroupPolicy, Groups, ManualClock, Notification, Notifier, Person, Reader,
    SocleError, Storage, Version,
};
use lettre::message::header::{ContentTransferEncoding, ContentType};
use lettre::message::{Body, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{Address, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use thiserror::Error;
use tokio::task::JoinHandle;

use crate::config::{MailConfig, MailConfigError, Schedule};
use crate::message::compose;

/// How long a node's claim on a user's digest holds: past it, the claim was abandoned
/// (the node stopped while sending) and another node takes the digest over.
pub const CLAIM_LEASE: Duration = Duration::from_secs(15 * 60);

/// A digest run stopped, or the sender could not be built. Digests not sent are retried
/// at the next run: their markers were not advanced.
#[derive(Debug, Error)]
pub enum DigestError {
    /// The configuration is wrong.
    #[error(transparent)]
    Config(#[from] MailConfigError),
    /// The digest state (opt-ins, markers, groups) could not be read or written.
    #[error(
        "the e-mail digest could not use the storage: {0}; the digests not sent are retried \
         at the next run"
    )]
    Storage(SocleError),
    /// The directory could not be asked about a user.
    #[error(
        "the e-mail digest could not look {user} up in the directory: {source}; the digests \
         not sent are retried at the next run"
    )]
    Directory {
        /// The user.
        user: String,
        /// The directory's error.
        source: SocleError,
    },
    /// The notifier could not give a user's news.
    #[error(
        "the e-mail digest could not read the news of {user}: {source}; the digests not sent \
         are retried at the next run"
    )]
    Notifier {
        /// The user.
        user: String,
        /// The notifier's error.
        source: SocleError,
    },
    /// The SMTP server could not be reached, or failed for a while (no answer, TLS
    /// failure, a temporary refusal).
    #[error(
        "cannot send the e-mail digest of {user} through the SMTP server {server}: {detail}; \
         check that the server is running and reachable and the [mail] keys smtp_host, \
         smtp_port and starttls; her digest and the following ones are retried at the next run"
    )]
    Smtp {
        /// The user whose digest was being sent.
        user: String,
        /// `host:port`.
        server: String,
        /// What the mail library said.
        detail: String,
    },
}

/// What one run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DigestReport {
    /// Users who were sent a digest.
    pub sent: Vec<String>,
    /// Users due, with nothing new for them: their period ends, no mail.
    pub nothing_new: Vec<String>,
    /// Users whose digest is not due yet.
    pub not_due: usize,
    /// Users whose digest another node is sending or has just sent.
    pub other_node: Vec<String>,
    /// Users not sent a digest, and why: no address, not in the directory, account
    /// deactivated, address refused by the server (that period is skipped).
    pub skipped: Vec<(String, String)>,
}

/// Sends the e-mail digest ("Résumé des nouveautés – <établissement>"): for every user
/// who opted in ([`DigestOptIns`], the socle's digest state), one e-mail per period
/// listing the items published for her since her last digest, to the `mail` attribute the
/// directory gives, as plain text and simple HTML.
///
/// It names no portlet: an item is shown with its source (the publishing portlet's id),
/// or the label given for that source with [`DigestSender::with_source_labels`].
///
/// Several portal nodes may run it on the same storage: each user's digest is claimed by
/// a versioned conditional write of her [`Marker`] before it is sent; the node that loses
/// the race skips her. The marker is advanced only once the server accepted the mail: a
/// failure leaves it where it was, and the digest is retried at the next run.
///
/// Her audience is computed as the portal does: her directory profiles plus the roles
/// delegated to her now, and the active groups she belongs to. Deactivated accounts get
/// nothing.
///
/// Clones share everything.
#[derive(Clone)]
pub struct DigestSender {
    inner: Arc<Inner>,
    /// How readers know each source (portlet id → label).
    labels: Arc<BTreeMap<String, String>>,
}

struct Inner {
    config: MailConfig,
    schedule: Schedule,
    from: Mailbox,
    etablissement: String,
    storage: Arc<dyn Storage>,
    opt_ins: DigestOptIns,
    directory: Arc<dyn Directory>,
    notifier: Arc<dyn Notifier>,
    transport: AsyncSmtpTransport<Tokio1Executor>,
}

impl fmt::Debug for DigestSender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DigestSender")
            .field("config", &self.inner.config)
            .field("etablissement", &self.inner.etablissement)
            .finish_non_exhaustive()
    }
}

/// What happened for one user.
enum Outcome {
    Sent,
    NothingNew,
    NotDue,
    OtherNode,
    NotOptedIn,
    Skipped(String),
}

/// An error with its causes, for messages.
fn describe(e: &(dyn std::error::Error + 'static)) -> String {
    let mut detail = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !detail.contains(&text) {
            detail.push_str(": ");
            detail.push_str(&text);
        }
        source = cause.source();
    }
    detail
}

impl DigestSender {
    /// A sender for the établissement `etablissement` (named in the subject), reading the
    /// opt-ins and markers in `storage`, addresses in `directory` and news in `notifier`.
    ///
    /// Fails with [`DigestError::Config`] when the configuration is wrong. Nothing is
    /// connected yet: the SMTP server is reached at each run.
    pub fn new(
        config: MailConfig,
        etablissement: impl Into<String>,
        storage: Arc<dyn Storage>,
        directory: Arc<dyn Directory>,
        notifier: Arc<dyn Notifier>,
    ) -> Result<Self, DigestError> {
        config.validate()?;
        let schedule = config.schedule()?;
        let from = config.from_mailbox()?;
        let tls = |host: &str| {
            TlsParameters::new(host.to_string()).map_err(|e| MailConfigError::Invalid {
                key: "smtp_host",
                message: format!("cannot set TLS up for {host:?}: {}", describe(&e)),
            })
        };
        let mut builder =
            AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(config.smtp_host.clone())
                .port(config.port())
                .timeout(Some(config.timeout()));
        builder = match config.starttls {
            crate::TlsMode::None => builder.tls(Tls::None),
            crate::TlsMode::Starttls => builder.tls(Tls::Required(tls(&config.smtp_host)?)),
            crate::TlsMode::Tls => builder.tls(Tls::Wrapper(tls(&config.smtp_host)?)),
        };
        if let (Some(user), Some(password)) = (&config.username, &config.password) {
            builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
        }
        Ok(DigestSender {
            labels: Arc::default(),
            inner: Arc::new(Inner {
                schedule,
                from,
                etablissement: etablissement.into(),
                opt_ins: DigestOptIns::new(storage.clone()),
                storage,
                directory,
                notifier,
                transport: builder.build(),
                config,
            }),
        })
    }

    /// The configuration in force.
    pub fn config(&self) -> &MailConfig {
        &self.inner.config
    }

    /// Show the items of these sources (publishing portlets' ids) with these labels, as
    /// readers know them: `[("nouveautes", "Annonce")]` for the annonces service's
    /// announcements. Other items show their source as it is.
    pub fn with_source_labels<S, L>(mut self, labels: impl IntoIterator<Item = (S, L)>) -> Self
    where
        S: Into<String>,
        L: Into<String>,
    {
        let mut all = (*self.labels).clone();
        all.extend(labels.into_iter().map(|(s, l)| (s.into(), l.into())));
        self.labels = Arc::new(all);
        self
    }

    /// Run the digest every `every` (at least one second) on a tokio task, with the
    /// current time; failures are logged and retried at the next tick. Abort the handle
    /// to stop it.
    pub fn spawn(&self, every: Duration) -> JoinHandle<()> {
        let sender = self.clone();
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(every.max(Duration::from_secs(1)));
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticker.tick().await;
                match sender.run_once(SystemTime::now()).await {
                    Ok(report) => {
                        if !report.sent.is_empty() || !report.skipped.is_empty() {
                            tracing::info!(
                                sent = report.sent.len(),
                                nothing_new = report.nothing_new.len(),
                                other_node = report.other_node.len(),
                                skipped = ?report.skipped,
                                "e-mail digest run"
                            );
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "e-mail digest run stopped"),
                }
            }
        })
    }

    /// One run at `now`: every opted-in user whose digest is due gets it (if anything
    /// was published for her since her last one).
    ///
    /// Stops at the first failure that would fail the following users too (storage,
    /// directory, notifier, SMTP server unreachable or failing for a while) with that
    /// error; digests sent before it stay sent, the others are retried at the next run.
    pub async fn run_once(&self, now: SystemTime) -> Result<DigestReport, DigestError> {
        let inner = &self.inner;
        let users = inner
            .opt_ins
            .opted_in_users()
            .await
            .map_err(DigestError::Storage)?;
        let mut report = DigestReport::default();
        if users.is_empty() {
            return Ok(report);
        }
        let clock = Arc::new(ManualClock::new(now));
        let groups = self.groups_by_member(now, clock.clone()).await?;
        let delegations =
            Delegations::new(inner.storage.clone(), clock, DelegationPolicy::default());
        for user in &users {
            let user = user.as_str();
            match self.digest_one(user, now, &groups, &delegations).await? {
                Outcome::Sent => report.sent.push(user.to_string()),
                Outcome::NothingNew => report.nothing_new.push(user.to_string()),
                Outcome::NotDue => report.not_due += 1,
                Outcome::OtherNode => report.other_node.push(user.to_string()),
                Outcome::NotOptedIn => {}
                Outcome::Skipped(why) => report.skipped.push((user.to_string(), why)),
            }
        }
        Ok(report)
    }

    /// The ids of the active groups of each user (as member or owner), read once per run.
    async fn groups_by_member(
        &self,
        now: SystemTime,
        clock: Arc<ManualClock>,
    ) -> Result<BTreeMap<String, Vec<String>>, DigestError> {
        let groups = Groups::new(self.inner.storage.clone(), clock, GroupPolicy::default());
        let all = groups.all().await.map_err(|e| match e {
            GroupError::Socle(e) => DigestError::Storage(e),
            other => DigestError::Storage(SocleError::Invalid(other.to_string())),
        })?;
        let mut by_member: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for group in all.into_iter().filter(|g| g.is_active(now)) {
            let mut people: Vec<&String> = group.members.iter().collect();
            people.push(&group.owner);
            people.sort();
            people.dedup();
            for person in people {
                by_member
                    .entry(person.clone())
                    .or_default()
                    .push(group.id.clone());
            }
        }
        Ok(by_member)
    }

    /// Write her marker only if it is still at `expected` (the claim); a conflict means
    /// she opted out or another node took over an expired claim: logged, not an error.
    async fn settle(
        &self,
        user: &str,
        marker: &Marker,
        expected: Version,
    ) -> Result<(), DigestError> {
        match self
            .inner
            .opt_ins
            .set_marker_if(user, marker, expected)
            .await
        {
            Ok(_) => Ok(()),
            Err(SocleError::Conflict { what }) => {
                tracing::info!(%user, %what, "digest marker changed meanwhile; left as it is");
                Ok(())
            }
            Err(e) => Err(DigestError::Storage(e)),
        }
    }

    async fn digest_one(
        &self,
        user: &str,
        now: SystemTime,
        groups: &BTreeMap<String, Vec<String>>,
        delegations: &Delegations,
    ) -> Result<Outcome, DigestError> {
        let inner = &self.inner;
        let opt_ins = &inner.opt_ins;
        if !opt_ins
            .is_opted_in(user)
            .await
            .map_err(DigestError::Storage)?
        {
            // She opted out (or her account was deleted) after the index was written:
            // forget her index key.
            opt_ins.forget(user).await.map_err(DigestError::Storage)?;
            return Ok(Outcome::NotOptedIn);
        }

        // Where her digests stand.
        let stored = opt_ins.marker(user).await.map_err(DigestError::Storage)?;
        let now_secs = digest::unix_seconds(now);
        let first = || {
            Marker::at(
                now.checked_sub(inner.schedule.first_period())
                    .unwrap_or(now),
            )
        };
        // No marker yet (or an unreadable one, logged by the socle): a first digest.
        let marker = stored.value.unwrap_or_else(first);
        if marker.claimed_until.is_some_and(|until| until > now_secs) {
            return Ok(Outcome::OtherNode);
        }
        let since = marker.last_time();
        if !inner.schedule.is_due(since, now) {
            return Ok(Outcome::NotDue);
        }

        // Who she is, and where to write.
        let person =
            inner
                .directory
                .person(user)
                .await
                .map_err(|source| DigestError::Directory {
                    user: user.to_string(),
                    source,
                })?;
        let Some(person) = person else {
            return Ok(Outcome::Skipped("not in the directory".into()));
        };
        if AccountLifecycle::default().status(&person, now) != AccountStatus::Active {
            return Ok(Outcome::Skipped("account deactivated".into()));
        }
        let to = match mailbox(&person) {
            Ok(to) => to,
            Err(why) => return Ok(Outcome::Skipped(why)),
        };

        // Claim her digest: of several nodes, the one whose write succeeds sends it.
        let claim = Marker {
            last: marker.last,
            claimed_until: Some(now_secs.saturating_add(CLAIM_LEASE.as_secs())),
        };
        let claimed = match opt_ins.set_marker_if(user, &claim, stored.version).await {
            Ok(version) => version,
            Err(SocleError::Conflict { .. }) => return Ok(Outcome::OtherNode),
            Err(e) => return Err(DigestError::Storage(e)),
        };
        let release = Marker {
            last: marker.last,
            claimed_until: None,
        };
        let done = Marker {
            last: now_secs,
            claimed_until: None,
        };

        let items = match self
            .items_for(&person, groups, delegations, since, now)
            .await
        {
            Ok(items) => items,
            Err(e) => {
                self.settle(user, &release, claimed).await?;
                return Err(e);
            }
        };
        if items.0.is_empty() {
            self.settle(user, &done, claimed).await?;
            return Ok(Outcome::NothingNew);
        }
        let (items, more) = items;
        let content = compose(
            &inner.etablissement,
            &person.display_name,
            since,
            &items,
            more,
            inner.config.portal_base(),
            &self.labels,
        );
        let message = match self.message(to, content) {
            Ok(message) => message,
            Err(why) => {
                self.settle(user, &release, claimed).await?;
                return Ok(Outcome::Skipped(why));
            }
        };
        match inner.transport.send(message).await {
            Ok(_) => {
                self.settle(user, &done, claimed).await?;
                Ok(Outcome::Sent)
            }
            Err(e) if e.is_permanent() => {
                // The server refuses this mail for good (unknown address…): retrying
                // would fail again; skip this period.
                self.settle(user, &done, claimed).await?;
                Ok(Outcome::Skipped(format!(
                    "the SMTP server refused her digest: {}",
                    describe(&e)
                )))
            }
            Err(e) => {
                self.settle(user, &release, claimed).await?;
                Err(DigestError::Smtp {
                    user: user.to_string(),
                    server: inner.config.server(),
                    detail: describe(&e),
                })
            }
        }
    }

    /// The items for her published after `since` and up to `now` (newest first, at most
    /// `max_items`), and how many more there were.
    async fn items_for(
        &self,
        person: &Person,
        groups: &BTreeMap<String, Vec<String>>,
        delegations: &Delegations,
        since: SystemTime,
        now: SystemTime,
    ) -> Result<(Vec<Notification>, usize), DigestError> {
        let profiles = delegations
            .effective_profiles(person)
            .await
            .map_err(|e| match e {
                DelegationError::Socle(e) => DigestError::Storage(e),
                other => DigestError::Storage(SocleError::Invalid(other.to_string())),
            })?;
        let reader = Reader::new(person.id.clone(), profiles)
            .with_groups(groups.get(&person.id).cloned().unwrap_or_default());
        let max = self.inner.config.max_items;
        // Items newer than `now` come first in `recent`: ask for more than are listed.
        let wanted = max.saturating_mul(4).saturating_add(1);
        // Whole seconds, as the marker: an item of the current second goes in the next
        // digest, never in two.
        let upto = std::time::UNIX_EPOCH + Duration::from_secs(digest::unix_seconds(now));
        let mut items: Vec<Notification> = self
            .inner
            .notifier
            .recent(&reader, wanted)
            .await
            .map_err(|source| DigestError::Notifier {
                user: person.id.clone(),
                source,
            })?
            .into_iter()
            .filter(|n| n.at > since && n.at <= upto && n.audience.includes(&reader))
            .collect();
        let more = items.len().saturating_sub(max);
        items.truncate(max);
        Ok((items, more))
    }

    /// The e-mail.
    fn message(
        &self,
        to: Mailbox,
        content: crate::message::DigestContent,
    ) -> Result<Message, String> {
        let part = |content_type: ContentType, text: String| {
            Body::new_with_encoding(text, ContentTransferEncoding::QuotedPrintable)
                .map(|body| SinglePart::builder().header(content_type).body(body))
                .map_err(|_| "the digest could not be encoded".to_string())
        };
        let text = part(ContentType::TEXT_PLAIN, content.text)?;
        let html = part(ContentType::TEXT_HTML, content.html)?;
        Message::builder()
            .from(self.inner.from.clone())
            .to(to)
            .subject(content.subject)
            .multipart(MultiPart::alternative().singlepart(text).singlepart(html))
            .map_err(|e| format!("the digest could not be built: {e}"))
    }
}

/// Her mailbox from the directory's `mail` attribute.
fn mailbox(person: &Person) -> Result<Mailbox, String> {
    let Some(mail) = person
        .attribute("mail")
        .map(str::trim)
        .filter(|m| !m.is_empty())
    else {
        return Err("no mail attribute in the directory".into());
    };
    let address: Address = mail
        .parse()
        .map_err(|e| format!("the mail attribute {mail:?} is not an address: {e}"))?;
    Ok(Mailbox::new(Some(person.display_name.clone()), address))
}
