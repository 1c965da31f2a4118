//! "Mes données": her personal agenda as `agenda/personnel.ics` (iCalendar, every event
//! as stored), and back. The shared agendas are the groups' and the établissement's,
//! not hers: they are not in her archive.

use cartable_portlet::async_trait;
use cartable_portlet::dav::Precondition;
use cartable_portlet::export::{
    DataContext, ExportFile, ExportSink, ImportFile, ImportReport, PortabilityError, Portable,
};
use cartable_portlet::sqlx::AnyConnection;

use crate::calendars::{Access, Kind};
use crate::{Agenda, SERVICE, ics, name_for, seconds, store};

/// The file of her personal agenda in the archive.
pub const FILE: &str = "personnel.ics";
/// Its format in the manifest.
pub const FORMAT: &str = "icalendar";

#[async_trait]
impl Portable for Agenda {
    fn service(&self) -> &str {
        SERVICE
    }

    async fn export(
        &self,
        cx: &DataContext,
        sink: &mut dyn ExportSink,
    ) -> Result<(), PortabilityError> {
        let own = Access {
            key: format!("u:{}", cx.user().id),
            id: "personnel".into(),
            name: self.labels_in(cx.locale()).own,
            write: true,
            kind: Kind::Own,
        };
        let text = self.export_file(cx.db()?, &own).await?;
        sink.file(ExportFile::bytes(
            FILE,
            "text/calendar; charset=utf-8",
            FORMAT,
            text.into_bytes(),
        ))
        .await
    }

    async fn import(
        &self,
        cx: &DataContext,
        tx: &mut AnyConnection,
        files: Vec<ImportFile>,
    ) -> Result<ImportReport, PortabilityError> {
        let mut report = ImportReport::default();
        let key = format!("u:{}", cx.user().id);
        let zone = cx.services().time_zone;
        let now = seconds(cx.clock().now());
        for file in files {
            if file.path != FILE {
                report.refuse(&file.path, "1", &file.path, "not a file of the agenda");
                continue;
            }
            let read = match ics::read_file(&file.bytes, zone) {
                Ok(r) => r,
                // Her agenda was empty when it was exported: nothing to restore, nothing
                // refused (an empty file given on the page is still an error).
                Err(ics::IcsError::Empty) => continue,
                Err(e) => {
                    report.refuse(&file.path, "1", FILE, e.to_string());
                    continue;
                }
            };
            for (uid, why) in &read.refused {
                report.refuse(&file.path, uid.as_str(), uid.as_str(), why.as_str());
            }
            for (n, o) in read.objects.iter().enumerate() {
                let name = store::name_of_uid(tx, &key, &o.event.uid)
                    .await?
                    .unwrap_or_else(|| name_for(&o.event.uid));
                let put = store::Put {
                    calendar: &key,
                    name: &name,
                    object: o,
                    author: &cx.user().id,
                    now,
                    precondition: &Precondition::None,
                    zone,
                };
                match store::put_in(tx, &put).await {
                    Ok(_) => {
                        report.accept(&file.path, format!("#{}", n + 1), o.event.summary.as_str())
                    }
                    Err(store::WriteError::Socle(e)) => return Err(e.into()),
                    Err(e) => report.refuse(
                        &file.path,
                        format!("#{}", n + 1),
                        o.event.summary.as_str(),
                        e.to_string(),
                    ),
                }
            }
            if read.over_limit > 0 {
                report.refuse(
                    &file.path,
                    "*",
                    format!("{} events", read.over_limit),
                    format!("at most {} events are imported at once", ics::MAX_OBJECTS),
                );
            }
        }
        Ok(report)
    }
}
