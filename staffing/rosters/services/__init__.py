"""Writes to rosters, one module per sub-domain; callers import the module they need.

- `holidays`: the holiday calendar (load from the package, import a table, admin edits)
- `generation`: plan a month (the algorithm itself is `staffing.rosters.planner`)
- `publishing`: publish a month's drafts; the guard that keeps a posting from ending before its
  published duties
- `leave`, `swaps`: the doctors' requests and what approving them does to the roster
- `gaps`: cover for a day nobody at the clinic can take
- `amendments`: the record of every change to a published month
- `feeds`: the address of a doctor's iCalendar feed
- `reach`, `notices`, `decisions`: the checks, notifications and decision step they share

Status changes go through the machines declared in `staffing.rosters.models` (ROSTER_FLOW,
LEAVE_FLOW, SWAP_FLOW, GAP_FLOW).
"""
