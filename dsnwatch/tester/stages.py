"""Stage evaluation: from the log events and mailbox finds seen so far to each stage's state.

Pure: the tracker feeds events in and asks again as often as it likes; the same
observations and time give the same answer. A stage passes when its evidence is
seen, and fails once its predecessor passed and the evidence is overdue (each
stage has its own grace, so a broken link is named in seconds, not at the end
of `--wait`), or when the whole test's deadline has passed.

Two paths after the delivery attempt:

- A: our Postfix bounced the test (local tests; remote servers that refuse at
  RCPT time). Postfix writes the bounce, copies it to the central mailbox
  (notify or full-copy mode) and delivers it to the sender, where Sieve copies it.
- B: the test left (remote servers that accept and bounce later; SES). A report
  comes back from outside to the sender, where Sieve copies it.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from dsnwatch.logs.events import LogEvent
from dsnwatch.tester.model import STAGES, Stage, TestSpec

# Seconds a stage may lag behind the one before it before it counts as failed.
GRACE = {
    "accepted": 20.0,
    "outcome": 30.0,
    "report": 20.0,
    "postfix-copy": 15.0,
    "postmaster-delivery": 30.0,
    "delivered": 30.0,
    "redirect": 8.0,
    "no-discard": 3.0,
}
DOCTOR = "run dsnwatch doctor"


@dataclass(slots=True, frozen=True)
class Seen:
    """An event and when it happened (epoch seconds)."""

    event: LogEvent
    t: float


@dataclass(slots=True, frozen=True)
class MailboxHit:
    """A message in the central mailbox that carries a test's token."""

    uid: int
    t: float  # when the tracker found it
    message_id: str
    original_message_id: str
    subject: str
    kind: str


def _key(value: str | None) -> str:
    return (value or "").strip().lower()


@dataclass(slots=True)
class Observations:
    """The Postfix and Sieve events seen so far, indexed the ways the stages look them up."""

    queues_by_msgid: dict[str, list[Seen]] = field(default_factory=lambda: defaultdict(list))
    msgid_by_queue: dict[str, str] = field(default_factory=dict)
    by_queue: dict[str, list[Seen]] = field(default_factory=lambda: defaultdict(list))
    sieve_by_msgid: dict[str, list[Seen]] = field(default_factory=lambda: defaultdict(list))
    inbound_queues: list[str] = field(default_factory=list)  # received by the MX's smtpd
    problems: dict[str, str] = field(default_factory=dict)  # log source -> what is wrong

    def add(self, event: LogEvent, t: float) -> None:
        """Index one event (others than Postfix's and Sieve's are ignored)."""
        seen = Seen(event, t)
        if event.kind.startswith("sieve-"):
            if event.msgid:
                self.sieve_by_msgid[_key(event.msgid)].append(seen)
            return
        qid = event.queue_id
        if event.service != "postfix" or not qid:
            return
        if event.kind == "postfix-message-id" and event.msgid:
            self.queues_by_msgid[_key(event.msgid)].append(seen)
            self.msgid_by_queue[qid] = _key(event.msgid)
        elif event.kind == "plain" and (event.detail or "").startswith("client="):
            if _is_inbound(event.program or ""):
                self.inbound_queues.append(qid)
            return
        self.by_queue[qid].append(seen)

    def follower_state(self, source: str, state: str, detail: str) -> None:
        """Remember whether a log source is being read."""
        if state == "following":
            self.problems.pop(source, None)
        elif state in ("missing", "reconnecting", "stopped"):
            self.problems[source] = f"{state}: {detail}" if detail else state

    def deliveries(self, qid: str | None, recipient: str | None = None) -> list[Seen]:
        if not qid:
            return []
        return [
            s
            for s in self.by_queue.get(qid, ())
            if s.event.kind == "postfix-delivery"
            and (recipient is None or _key(s.event.recipient) == _key(recipient))
        ]

    def notice(self, qid: str | None, what: str) -> Seen | None:
        """The bounce notice of a kind (`sender`, `postmaster`) Postfix wrote about a queue id."""
        for s in self.by_queue.get(qid or "", ()):
            if s.event.kind == "postfix-bounce-notice" and (s.event.detail or "").startswith(what):
                return s
        return None

    def sender_of(self, qid: str) -> str | None:
        for s in self.by_queue.get(qid, ()):
            if s.event.kind == "postfix-queued":
                return s.event.sender
        return None


def _is_inbound(program: str) -> bool:
    # mailcow names its submission and Sieve re-injection services postfix/submission
    # and postfix/sogo; mail from other servers comes in through plain postfix/smtpd.
    return program.endswith("/smtpd") and not any(
        word in program for word in ("submission", "sogo", "reinject", "submit")
    )


def _final(deliveries: list[Seen]) -> Seen | None:
    """The delivery result that settles a recipient: the first non-deferred, else the last."""
    for s in deliveries:
        if s.event.status in ("sent", "bounced", "expired"):
            return s
    return deliveries[-1] if deliveries else None


def _reply(event: LogEvent) -> str:
    parts = [p for p in (event.dsn, event.detail) if p]
    return " ".join(parts)[:200]


class _Eval:
    def __init__(
        self,
        spec: TestSpec,
        obs: Observations,
        hits: list[MailboxHit],
        now: float,
        claimed: frozenset[str],
        imap_error: str | None,
    ) -> None:
        self.spec = spec
        self.obs = obs
        self.hits = hits
        self.now = now
        self.claimed = claimed
        self.imap_error = imap_error
        self.stages = {sid: Stage(sid, name) for sid, name in STAGES}

    # --- helpers -------------------------------------------------------------

    def rel(self, t: float) -> float:
        return max(0.0, t - self.spec.started)

    def passed(self, sid: str, t: float, detail: str) -> float:
        stage = self.stages[sid]
        stage.state, stage.at, stage.detail = "passed", self.rel(t), detail
        return t

    def failed(self, sid: str, cause: str) -> None:
        stage = self.stages[sid]
        stage.state, stage.detail = "failed", cause

    def skipped(self, sid: str, why: str, state: str = "skipped") -> None:
        stage = self.stages[sid]
        stage.state = "unreached" if state == "unreached" else "skipped"
        stage.detail = why

    def unreached(self, *sids: str) -> None:
        """Mark pending stages as not reached, once an earlier stage has failed."""
        if not any(s.state == "failed" for s in self.stages.values()):
            return  # the earlier stage is only still pending
        for sid in sids:
            if self.stages[sid].state == "pending":
                self.skipped(sid, "not reached: an earlier stage failed", "unreached")

    def overdue(self, since: float | None, grace: float | None) -> bool:
        """True when the evidence for a stage is now late enough to call it failed."""
        if self.now >= self.spec.deadline:
            return True
        return since is not None and grace is not None and self.now >= since + grace

    def wait_or_fail(self, sid: str, since: float | None, grace: float | None, cause: str) -> None:
        if self.overdue(since, grace):
            if self.now >= self.spec.deadline and (since is None or grace is None):
                wait = self.spec.deadline - self.spec.started
                cause = f"nothing within {wait:.0f}s: {cause}"
            self.failed(sid, cause)

    def log_problem(self, source: str) -> str | None:
        detail = self.obs.problems.get(source)
        return f"the {source} log could not be read ({detail})" if detail else None

    # --- the stages ------------------------------------------------------------

    def run(self) -> list[Stage]:
        spec = self.spec
        t_submit = self.submit()
        if t_submit is None:
            self.unreached(*self.stages)
            return list(self.stages.values())
        if spec.route != "postfix":
            why = "sent through Amazon SES directly, not through Postfix"
            self.skipped("accepted", why)
            self.skipped("outcome", why)
            self.path_b(t_submit)
            return list(self.stages.values())
        accepted = self.accepted(t_submit)
        if accepted is None:
            self.unreached(*self.stages)
            return list(self.stages.values())
        qid, t_acc = accepted
        outcome = self.outcome(qid, t_acc)
        if outcome is None:
            self.unreached(*self.stages)
        elif outcome[0] == "bounced":
            self.path_a(qid, outcome[1])
        else:
            self.path_b(outcome[1])
        return list(self.stages.values())

    def submit(self) -> float | None:
        spec = self.spec
        if spec.submit_error is not None:
            self.failed("submit", spec.submit_error)
            return None
        if spec.submitted is None:
            return None
        where = {"postfix": "queued as", "ses-smtp": "SES accepted it:", "ses-api": "SES id"}
        ident = spec.queue_id or spec.submit_reply or "?"
        return self.passed("submit", spec.submitted, f"{where[spec.route]} {ident}")

    def accepted(self, t_submit: float) -> tuple[str, float] | None:
        spec = self.spec
        found = self.obs.queues_by_msgid.get(_key(spec.message_id), [])
        mine = [s for s in found if s.event.queue_id == spec.queue_id] or found
        if mine:
            first = mine[0]
            qid = first.event.queue_id or ""
            return qid, self.passed("accepted", first.t, f"queue id {qid}")
        cause = self.log_problem("postfix") or (
            f"Postfix logged no line for Message-ID {spec.message_id}; "
            "check that its log is followed: dsnwatch tail --service postfix"
        )
        self.wait_or_fail("accepted", t_submit, GRACE["accepted"], cause)
        return None

    def outcome(self, qid: str, t_acc: float) -> tuple[str, float] | None:
        spec = self.spec
        final = _final(self.obs.deliveries(qid, spec.recipient))
        kind = spec.kind
        if final is None:
            grace = None if kind == "remote" else GRACE["outcome"]
            cause = (
                f"Postfix logged no delivery attempt to {spec.recipient}; "
                "the queue may be stuck: check postqueue -p"
            )
            self.wait_or_fail("outcome", t_acc, grace, cause)
            return None
        ev = final.event
        reply = _reply(ev)
        if ev.status == "bounced":
            if kind in ("ses", "complaint"):
                self.failed("outcome", f"Postfix could not hand the test to SES: {reply}")
                return None
            what = "refused by the remote server" if kind == "remote" else "bounced by Postfix"
            return "bounced", self.passed("outcome", final.t, f"{what}: {reply}")
        if ev.status == "sent":
            if kind == "local":
                self.failed(
                    "outcome",
                    f"Postfix delivered a test to an .invalid domain (relay {ev.relay}); "
                    "check its transport maps",
                )
                return None
            where = "handed to SES" if kind != "remote" else "accepted by the remote server"
            detail = f"{where} at {ev.relay}; its report comes back from there"
            return "sent", self.passed("outcome", final.t, detail)
        if kind == "local":
            cause = (
                f"Postfix deferred it instead of bouncing ({reply}); "
                "an .invalid domain must fail at once: check its DNS resolver"
            )
        elif kind == "remote":
            cause = (
                f"the remote server answered with a temporary error ({reply}); "
                "choose a remote_target that refuses unknown users at once"
            )
        else:
            cause = f"Postfix could not reach SES ({reply}); check the relay to SES"
        self.failed("outcome", cause)
        return None

    # --- path A: our Postfix wrote the bounce -----------------------------------------

    def path_a(self, qid: str, t_out: float) -> None:
        spec = self.spec
        notice = self.obs.notice(qid, "sender non-delivery")
        if notice is None:
            self.wait_or_fail(
                "report",
                t_out,
                GRACE["report"],
                f"Postfix bounced it but wrote no bounce to {spec.sender}; "
                "check its bounce service: postconf -M bounce",
            )
            self.unreached(*self.stages)
            return
        bqid = notice.event.new_queue_id or ""
        t_rep = self.passed("report", notice.t, f"bounce {bqid} to {spec.sender}")
        copy_sent = self.postfix_copy(qid, bqid, t_rep)
        msgid = self.obs.msgid_by_queue.get(bqid)
        # A full-copy bounce Postfix failed to copy carries no marker, so Sieve copies it.
        self.after_report(
            bqid,
            msgid,
            t_rep,
            copy_sent,
            postfix_copied=spec.postfix_mode == "full-copy" and copy_sent is not False,
        )

    def postfix_copy(self, qid: str, bqid: str, t_rep: float) -> bool | None:
        """The Postfix copy stage; True when it passed, False when it failed, None pending."""
        spec = self.spec
        if spec.postfix_mode == "full-copy":
            final = _final(self.obs.deliveries(bqid, spec.monitor))
            if final is not None and final.event.status == "sent":
                self.passed("postfix-copy", final.t, f"bounce {bqid} also sent to {spec.monitor}")
                return True
            cause = (
                f"Postfix bounced it, but no copy reached {spec.monitor}: the dsnwatch "
                f"bounce cleanup (full-copy mode) is not active; {DOCTOR}"
            )
            if final is not None:
                cause = f"Postfix's copy to {spec.monitor} was not delivered: {_reply(final.event)}"
                self.failed("postfix-copy", cause)
                return False
            self.wait_or_fail("postfix-copy", t_rep, GRACE["postfix-copy"], cause)
            return False if self.stages["postfix-copy"].state == "failed" else None
        notice = self.obs.notice(qid, "postmaster non-delivery")
        if notice is None:
            self.wait_or_fail(
                "postfix-copy",
                t_rep,
                GRACE["postfix-copy"],
                f"Postfix bounced it, but no copy reached {spec.monitor}: "
                f"notify_classes is not active; {DOCTOR}",
            )
            return False if self.stages["postfix-copy"].state == "failed" else None
        pqid = notice.event.new_queue_id or ""
        final = _final(self.obs.deliveries(pqid))
        if final is None:
            self.wait_or_fail(
                "postfix-copy",
                notice.t,
                GRACE["postmaster-delivery"],
                f"Postfix wrote a postmaster copy ({pqid}) but did not deliver it; "
                "check postqueue -p",
            )
            return False if self.stages["postfix-copy"].state == "failed" else None
        ev = final.event
        if ev.status == "sent" and _key(ev.recipient) == _key(spec.monitor):
            self.passed("postfix-copy", final.t, f"postmaster copy {pqid} sent to {spec.monitor}")
            return True
        if ev.status == "sent":
            cause = (
                f"Postfix's postmaster copy went to {ev.recipient}, not {spec.monitor}: "
                f"bounce_notice_recipient is not the central mailbox; {DOCTOR}"
            )
        else:
            cause = f"Postfix's postmaster copy to {ev.recipient} failed: {_reply(ev)}"
        self.failed("postfix-copy", cause)
        return False

    # --- path B: a report came back from outside ---------------------------------

    def path_b(self, t_out: float) -> None:
        spec = self.spec
        self.skipped("postfix-copy", "a report from another server does not pass Postfix's bounces")
        found = self.incoming(t_out)
        if found is None:
            if spec.kind == "remote":
                cause = (
                    f"the remote server accepted the test and no report came back to "
                    f"{spec.sender}; it may not bounce unknown users: choose another remote_target"
                )
            else:
                cause = (
                    f"no SES report came back to {spec.sender}; check SES feedback forwarding "
                    f"for the sender's identity ({DOCTOR}) and that this server's MX takes "
                    "mail from SES"
                )
            cause = self.log_problem("postfix") or cause
            self.wait_or_fail("report", None, None, cause)
            self.unreached(*self.stages)
            return
        dqid, t_in, confirmed = found
        msgid = self.obs.msgid_by_queue.get(dqid)
        how = "" if confirmed else " (matched by time and sender until the mailbox confirms it)"
        label = "complaint" if spec.kind == "complaint" else "report"
        t_rep = self.passed("report", t_in, f"{label} {msgid or dqid} received{how}")
        self.after_report(dqid, msgid, t_rep, None, postfix_copied=False)

    def incoming(self, t_out: float) -> tuple[str, float, bool] | None:
        """The queue of the report that came back: confirmed by the mailbox, else likely."""
        spec = self.spec
        for hit in self.hits:
            for seen in self.obs.queues_by_msgid.get(_key(hit.message_id), ()):
                qid = seen.event.queue_id or ""
                if self.obs.deliveries(qid, spec.sender):
                    return qid, seen.t, True
        for qid in self.obs.inbound_queues:
            if qid in self.claimed:
                continue
            seen_all = self.obs.by_queue.get(qid, [])
            if not seen_all or seen_all[0].t < t_out - 1.0:
                continue
            sender = _key(self.obs.sender_of(qid))
            if sender and not (spec.kind != "remote" and sender.endswith("amazonses.com")):
                continue
            if self.obs.deliveries(qid, spec.sender):
                return qid, seen_all[0].t, False
        return None

    # --- common: delivery to the sender, Sieve, the mailbox --------------------------

    def after_report(
        self,
        rqid: str,
        msgid: str | None,
        t_rep: float,
        copy_sent: bool | None,
        *,
        postfix_copied: bool,
    ) -> None:
        spec = self.spec
        final = _final(self.obs.deliveries(rqid, spec.sender))
        t_del: float | None = None
        if final is not None and final.event.status == "sent":
            t_del = self.passed(
                "delivered", final.t, f"delivered to {spec.sender} ({final.event.relay})"
            )
        elif final is not None and final.event.status != "deferred":
            self.failed(
                "delivered",
                f"the report could not be delivered to {spec.sender}: {_reply(final.event)}",
            )
        else:
            self.wait_or_fail(
                "delivered",
                t_rep,
                GRACE["delivered"],
                f"Postfix logged no delivery of the report to {spec.sender}; "
                "the sender must be a mailbox on this server",
            )
        sieve = [s for s in self.obs.sieve_by_msgid.get(_key(msgid), ())]
        redirect_ok = self.redirect(sieve, t_del, postfix_copied)
        self.no_discard(sieve, t_del, redirect_ok)
        self.mailbox(copy_sent, redirect_ok)

    def redirect(self, sieve: list[Seen], t_del: float | None, postfix_copied: bool) -> bool | None:
        spec = self.spec
        if postfix_copied:
            self.skipped(
                "redirect",
                "Postfix copied the bounce itself; the Sieve rule leaves it alone",
            )
            return None
        if self.stages["delivered"].state == "failed":
            self.unreached("redirect")
            return False
        at_sender = [s for s in sieve if _key(s.event.user) == _key(spec.sender)]
        for s in at_sender:
            ev = s.event
            if ev.kind == "sieve-redirect" and _key(ev.recipient) == _key(spec.monitor):
                self.passed("redirect", s.t, f"forwarded to {spec.monitor} at {spec.sender}")
                return True
        for s in at_sender:
            ev = s.event
            cause = {
                "sieve-redirect-failed": f"Sieve tried to copy it to {spec.monitor} and failed "
                f"({ev.detail}); check Dovecot's submission_host",
                "sieve-redirect-duplicate": "Sieve skipped the copy as a duplicate of an earlier one",
                "sieve-redirect-loop": "Sieve refused the copy as a mail loop",
                "sieve-redirect": f"Sieve copied it to {ev.recipient}, not {spec.monitor}: "
                f"the rule names another mailbox; run dsnwatch install",
            }.get(ev.kind)
            if cause:
                self.failed("redirect", cause)
                return False
        problem = self.log_problem("dovecot")
        self.wait_or_fail(
            "redirect",
            t_del,
            GRACE["redirect"],
            problem
            or (
                f"the report reached {spec.sender} but Sieve did not copy it to {spec.monitor}: "
                f"the global sieve_before rule is missing or not active; {DOCTOR}"
            ),
        )
        return False if self.stages["redirect"].state == "failed" else None

    def no_discard(self, sieve: list[Seen], t_del: float | None, redirect_ok: bool | None) -> None:
        spec = self.spec
        watched = {_key(spec.sender), _key(spec.monitor)}
        for s in sieve:
            if s.event.kind == "sieve-discard" and _key(s.event.user) in watched:
                self.failed(
                    "no-discard",
                    f"Sieve discarded the report at {s.event.user}: a later rule "
                    "(a duplicate or spam filter) throws reports away",
                )
                return
        if redirect_ok is False:
            self.unreached("no-discard")
            return
        if redirect_ok is None and self.stages["redirect"].state == "pending":
            return
        kept = [
            s
            for s in sieve
            if s.event.kind in ("sieve-keep", "sieve-fileinto")
            and _key(s.event.user) == _key(spec.sender)
        ]
        if kept:
            self.passed("no-discard", kept[0].t, f"kept at {spec.sender} ({kept[0].event.mailbox})")
        elif t_del is not None and self.now >= t_del + GRACE["no-discard"]:
            self.passed("no-discard", t_del, "no discard logged")

    def mailbox(self, copy_sent: bool | None, redirect_ok: bool | None) -> None:
        spec = self.spec
        if self.hits:
            first = min(self.hits, key=lambda h: h.t)
            count = len(self.hits)
            copies = "1 copy" if count == 1 else f"{count} copies"
            self.passed(
                "mailbox",
                first.t,
                f"{copies}; read as {first.kind}: {first.subject[:80]}",
            )
            return
        if copy_sent is False and redirect_ok is False:
            self.failed("mailbox", f"no copy was made, so none can reach {spec.monitor}")
            return
        if self.imap_error:
            cause = f"the central mailbox could not be read: {self.imap_error}"
        elif copy_sent or redirect_ok:
            cause = (
                f"a copy was sent to {spec.monitor} but did not arrive in the watched folder; "
                "check that mailbox's own filters and the IMAP settings"
            )
        else:
            cause = f"no report for this test reached {spec.monitor}"
        self.wait_or_fail("mailbox", None, None, cause)


def evaluate(
    spec: TestSpec,
    obs: Observations,
    hits: list[MailboxHit],
    now: float,
    *,
    claimed: frozenset[str] = frozenset(),
    imap_error: str | None = None,
) -> list[Stage]:
    """Every stage of one test as the observations show it at `now` (epoch seconds)."""
    return _Eval(spec, obs, hits, now, claimed, imap_error).run()


def confirmed_queues(spec: TestSpec, obs: Observations, hits: list[MailboxHit]) -> set[str]:
    """Queue ids that the mailbox showed to belong to this test's report."""
    out: set[str] = set()
    for hit in hits:
        for seen in obs.queues_by_msgid.get(_key(hit.message_id), ()):
            if seen.event.queue_id and obs.deliveries(seen.event.queue_id, spec.sender):
                out.add(seen.event.queue_id)
    return out
