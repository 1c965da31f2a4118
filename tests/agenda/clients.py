"""The agenda through clients the project did not write: Python's `caldav` (a CalDAV
client) syncs both ways against the portal, `icalendar` parses the .ics export.

Arguments: the portal's URL, a login, an application password, the export file.
Prints one line per check, `KEY value`, that tests/agenda_clients.rs reads.
"""
import sys
from datetime import datetime

import caldav
import icalendar

base, login, password, export_path = sys.argv[1:5]

client = caldav.DAVClient(url=base + "/dav/", username=login, password=password)
principal = client.principal()
calendars = principal.calendars()
print("CALENDARS", "|".join(sorted(c.name for c in calendars)))
mine = next(c for c in calendars if c.name == "Mon agenda")

print("READ", "|".join(sorted(str(e.icalendar_component.get("summary")) for e in mine.events())))

mine.save_event(
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//python caldav test//EN\r\n"
    "BEGIN:VEVENT\r\nUID:py-1@test\r\nDTSTAMP:20261207T100000Z\r\n"
    "DTSTART;TZID=Europe/Paris:20261210T140000\r\nDTEND;TZID=Europe/Paris:20261210T150000\r\n"
    "SUMMARY:Créé par caldav\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
)

for e in mine.events():
    component = e.icalendar_component
    if str(component.get("summary")) == "Depuis l'ENT":
        component["summary"] = "Modifié par caldav"
        e.save()

found = mine.search(start=datetime(2026, 12, 7), end=datetime(2026, 12, 14), event=True, expand=False)
print("SEARCH", "|".join(sorted(str(e.icalendar_component.get("summary")) for e in found)))

synced = mine.objects_by_sync_token(load_objects=False)
again = mine.objects_by_sync_token(sync_token=synced.sync_token, load_objects=False)
print("SYNC_FIRST", len(list(synced)))
print("SYNC_UNCHANGED", len(list(again)))

with open(export_path, "rb") as f:
    exported = icalendar.Calendar.from_ical(f.read())
print("EXPORT", "|".join(sorted(str(c.get("summary")) for c in exported.walk("VEVENT"))))
