"""Writes of teleconsultation, one module per sub-domain (import the function from its module):

- `calendar`: local days and times, and the rosters contract (public holidays, approved leave);
- `slots`: materialising slots from availability, and taking or giving back a slot's place;
- `availability`: weekly availability and its exceptions (slots follow at once);
- `consultants`: the consultant register of the county hospital and the township centres;
- `patients`: the patient's details, checked, and the identity key of the no-overlap rule;
- `flow`: the booking's allowed transitions, declared once, and its event trail;
- `bookings`: booking a place and every step of a booking's life (confirm … reschedule);
- `sweeps`: the periodic pass over consults whose time has gone by;
- `notices`: what the two sides are told, and the reminders.

Each write runs in one transaction, records a BookingEvent (for bookings) and an audit entry, and
queues its notifications in the same transaction. Nothing is re-exported here, so every caller
names the module a rule lives in.
"""
