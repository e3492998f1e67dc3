package mail_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/orchestra-panel/orchestra/internal/api/apitest"
	"github.com/orchestra-panel/orchestra/internal/services/mail"
	"github.com/orchestra-panel/orchestra/internal/services/mail/mailtest"
	"github.com/orchestra-panel/orchestra/internal/services/resources"
	"github.com/orchestra-panel/orchestra/internal/store"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
	"github.com/orchestra-panel/orchestra/internal/store/ent/history"
	"github.com/orchestra-panel/orchestra/internal/store/ent/monitorsample"
	"github.com/orchestra-panel/orchestra/internal/store/ent/resourcedata"
	"github.com/orchestra-panel/orchestra/internal/store/storetest"
	"github.com/orchestra-panel/orchestra/internal/viewer"
	"github.com/shopspring/decimal"
)

// TestMailboxMonitors: mail delivered over SMTP into a mailbox is the disk
// its resource measures (what Dovecot's quota counts, what doveadm shows)
// and the traffic (what Postfix logged it took, each message once, the
// second run only the new window, what a mailbox sent counted as its
// traffic too); a mailbox's quota is the allocation its usage starts with,
// and an allocation set becomes the quota Dovecot enforces.
func TestMailboxMonitors(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		mb := mailtest.LoadExclusive(t) // the backends write the bed's maps whole
		bed := apitest.OnTestBed(t, st, mail.MailboxBackend, mail.AddressBackend, mail.DiskMonitor, mail.TrafficMonitor)
		set := mb.ServerSettings()
		set[mail.PostfixLog.Name()] = mb.Log("postfix.log")
		bed.Admin.Do("PATCH", fmt.Sprintf("/servers/%d", bed.ServerID), map[string]any{"version": 1, "settings": set}).Want(http.StatusOK)
		user := apitest.Unique("mr")
		cust, _ := bed.Customer(user)
		dom := user + ".example"
		domID := cust.Do("POST", "/domains", map[string]any{"name": dom}).Want(http.StatusCreated).ID()
		box := func(name, pw string, quota any) int {
			t.Helper()
			body := map[string]any{"name": name, "password": pw, "filtering": mail.FilterNone}
			if quota != nil {
				body["quota"] = quota
			}
			id := bed.Applied(cust.Do("POST", "/mailboxes", body).Want(http.StatusCreated)).ID()
			bed.Applied(cust.Do("POST", "/mail-addresses", map[string]any{"name": name, "domain": domID, "mailboxes": []int{id}}).Want(http.StatusCreated))
			return id
		}
		ann, bea := user+"ann", user+"bea"
		annID := box(ann, "Ann-mailbox-51", 25) // 25 MiB: 26.2 MB
		beaID := box(bea, "Bea-mailbox-52", nil)
		annAddr, beaAddr := ann+"@"+dom, bea+"@"+dom
		ctx := viewer.System(context.Background(), viewer.ChannelCLI)

		// what each message was taken as: Postfix's size once it logged its
		// delivery to the mailbox
		sent := map[string]int{} // message id → bytes sent
		deliver := func(to string, msgs ...string) map[string]int {
			t.Helper()
			c, err := mb.Login(t, to, map[string]string{ann: "Ann-mailbox-51", bea: "Bea-mailbox-52"}[to])
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]string{}
			for _, msg := range msgs {
				id, subject := header(msg, "Message-ID"), header(msg, "Subject")
				if _, err := c.WaitForSubject("INBOX", subject, 30*time.Second); err != nil {
					t.Fatal(err)
				}
				want[id] = to
			}
			return waitLogged(t, mb, want)
		}
		var batch1 []string
		for i := range 2 {
			msg := message("someone@example.net", annAddr, fmt.Sprint("first ", i), 200_000+i*10_000)
			if err := mb.SendRaw(t, "someone@example.net", annAddr, msg); err != nil {
				t.Fatal(err)
			}
			batch1 = append(batch1, msg)
		}
		fromBea := message(beaAddr, annAddr, "from bea", 50_000)
		if err := mb.SendAuth(t, bea, "Bea-mailbox-52", beaAddr, annAddr, fromBea); err != nil {
			t.Fatal(err)
		}
		batch1 = append(batch1, fromBea)
		sizes1 := deliver(ann, batch1...)
		total1, raw1 := 0, 0
		for _, msg := range batch1 {
			n := sizes1[header(msg, "Message-ID")]
			if n < len(msg)-len(msg)/50 || n > len(msg)+8192 {
				t.Errorf("Postfix took a message of %d bytes as %d", len(msg), n)
			}
			sent[header(msg, "Message-ID")] = n
			total1, raw1 = total1+n, raw1+len(msg)
		}
		beaSent := sizes1[header(fromBea, "Message-ID")]

		mk := func(body map[string]any) *ent.Resource {
			id := bed.Admin.Do("POST", "/resources", body).Want(http.StatusCreated).ID()
			return st.Resource.GetX(ctx, id)
		}
		measure := func(r *ent.Resource, now time.Time) {
			t.Helper()
			round, err := resources.Measure(ctx, st, bed.Ex, r, now, time.Minute)
			if err != nil || len(round.Failed) != 0 || round.Objects < 2 {
				t.Fatalf("measuring %s: %+v %v", r.Name, round, err)
			}
		}
		data := func(r *ent.Resource, id int) *ent.ResourceData {
			t.Helper()
			return st.ResourceData.Query().Where(resourcedata.ResourceID(r.ID), resourcedata.ObjectID(id)).OnlyX(ctx)
		}

		// disk: what Dovecot's quota counts (KiB), in MB; about what came
		disk := mk(map[string]any{"name": "disk", "label": "Disk", "model": "Mailbox", "unit": "MB", "scale": "10**6",
			"aggregation": "last", "monitors": []string{mail.DiskMonitor}, "default_allocation": 500})
		measure(disk, time.Now().UTC().Truncate(time.Second))
		kib, limit := quotaGet(t, mb, ann)
		d := data(disk, annID)
		if want := decimal.NewFromInt(kib*1024).DivRound(decimal.NewFromInt(1e6), 3); d.Used == nil || !d.Used.Equal(want) {
			t.Errorf("ann's disk: %v MB, doveadm says %d KiB (%s MB)", d.Used, kib, want)
		}
		if stored := kib * 1024; stored < int64(raw1)*97/100 || stored > int64(raw1)+3*8192 {
			t.Errorf("ann's disk: %d bytes stored for %d delivered", stored, raw1)
		}
		// 25 MiB is 26.2 MB: an allocation of 26; bea has no quota: the default
		if d.Allocated == nil || *d.Allocated != 26 || limit != 25*1024 {
			t.Errorf("ann's allocation: %v MB (quota %d KiB), want 26 MB", d.Allocated, limit)
		}
		if b := data(disk, beaID); b.Used == nil || !b.Used.IsZero() || b.Allocated == nil || *b.Allocated != 500 {
			t.Errorf("bea's disk: %v of %v MB, want 0 of 500", b.Used, b.Allocated)
		}

		// traffic: the bytes Postfix took, once; the second run counts what
		// came since the first
		traffic := mk(map[string]any{"name": "traffic", "label": "Traffic", "model": "Mailbox", "unit": "B",
			"aggregation": "monthly-sum", "monitors": []string{mail.TrafficMonitor}})
		// a run's window ends before its time: what the log says happened
		// until the second that began now is in it
		now1 := time.Now().UTC().Truncate(time.Second).Add(time.Second)
		measure(traffic, now1)
		for time.Now().Before(now1) { // what comes next is after the first window
			time.Sleep(10 * time.Millisecond)
		}
		batch2 := message("someone@example.net", annAddr, "second", 120_000)
		if err := mb.SendRaw(t, "someone@example.net", annAddr, batch2); err != nil {
			t.Fatal(err)
		}
		total2 := deliver(ann, batch2)[header(batch2, "Message-ID")]
		sent[header(batch2, "Message-ID")] = total2
		now2 := time.Now().UTC().Truncate(time.Second).Add(time.Second)
		measure(traffic, now2)
		samples := func(id int) (out []string) {
			for _, s := range st.MonitorSample.Query().Where(monitorsample.Monitor(mail.TrafficMonitor), monitorsample.ObjectID(id)).
				Order(ent.Asc(monitorsample.FieldCreatedAt)).AllX(ctx) {
				out = append(out, s.CreatedAt.UTC().Format("15:04:05")+" "+s.Value.String())
			}
			return out
		}
		at := func(t time.Time, v int) string { return t.Format("15:04:05") + " " + strconv.Itoa(v) }
		if got, want := fmt.Sprint(samples(annID)), fmt.Sprint([]string{at(now1, total1), at(now2, total2)}); got != want {
			t.Errorf("ann's traffic samples: %s, want %s", got, want)
		}
		if got, want := fmt.Sprint(samples(beaID)), fmt.Sprint([]string{at(now1, beaSent), at(now2, 0)}); got != want {
			t.Errorf("bea's traffic samples (what she sent): %s, want %s", got, want)
		}
		all := 0
		for _, n := range sent {
			all += n
		}
		if d := data(traffic, annID); d.Used == nil || d.Used.IntPart() != int64(all) || !d.Used.Equal(decimal.NewFromInt(int64(all))) {
			t.Errorf("ann's traffic: %v B, want %d (each message once)", d.Used, all)
		}

		// the allocation is the quota: set through the store, applied by the
		// mailbox backend, in the mailbox's history
		setQuota := func(v *int) {
			t.Helper()
			if err := st.Tx(ctx, func(ctx context.Context, tx *ent.Tx) error { return mail.MailboxQuota.Set(ctx, tx, annID, v) }); err != nil {
				t.Fatal(err)
			}
		}
		waitLimit := func(want int64) {
			t.Helper()
			for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
				if _, l := quotaGet(t, mb, ann); l == want {
					return
				} else if time.Now().After(deadline) {
					t.Fatalf("ann's quota is %d KiB, want %d", l, want)
				}
			}
		}
		fifty := 50
		setQuota(&fifty)
		waitLimit(50 * 1024)
		get := func() *int {
			t.Helper()
			var v *int
			if err := st.Tx(ctx, func(ctx context.Context, tx *ent.Tx) (err error) {
				v, err = mail.MailboxQuota.Get(ctx, tx, annID)
				return err
			}); err != nil {
				t.Fatal(err)
			}
			return v
		}
		if v := get(); v == nil || *v != 50 {
			t.Errorf("the allocation field reads %v, want 50", v)
		}
		changed := false
		for _, h := range st.History.Query().Where(history.ObjectType("Mailbox"), history.ObjectID(annID)).AllX(ctx) {
			if c, ok := h.Changes["quota"].(map[string]any); ok && fmt.Sprint(c["new"]) == "50" {
				changed = true
			}
		}
		if !changed {
			t.Error("the quota set as the allocation is not in the mailbox's history")
		}
		setQuota(nil) // none: MAILBOXES_DEFAULT_QUOTA
		waitLimit(int64(mail.DefaultQuota.Get()) * 1024)
		if v := get(); v != nil {
			t.Errorf("the allocation field reads %v once cleared", *v)
		}
	})
}

// TestMailboxTrafficLog: the traffic monitor reads Postfix's log as it is
// written (RFC 3339 timestamps in any zone, classic ones in the server's
// time, a rotated FILE.1 before FILE), joins sizes and deliveries by queue
// id, counts only what lies in each run's window, only sent deliveries,
// what a mailbox submitted, never what senders wrote into addresses, and
// prints nothing for a mailbox the server does not have.
func TestMailboxTrafficLog(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		bed := apitest.OnTestBed(t, st, mail.TrafficMonitor)
		dir := t.TempDir()
		logFile, users := filepath.Join(dir, "mail.log"), filepath.Join(dir, "users")
		bed.Admin.Do("PATCH", fmt.Sprintf("/servers/%d", bed.ServerID), map[string]any{"version": 1,
			"settings": map[string]string{mail.PostfixLog.Name(): logFile, "MAILBOXES_PASSWD_PATH": users}}).Want(http.StatusOK)
		user := apitest.Unique("mt")
		cust, _ := bed.Customer(user)
		a, b, c, d := user+"a", user+"b", user+"c", user+"d"
		ids := map[string]int{}
		for _, n := range []string{a, b, c, d} {
			ids[n] = cust.Do("POST", "/mailboxes", map[string]any{"name": n, "password": "Mailbox-pass-53"}).Want(http.StatusCreated).ID()
		}
		// c is not on this server
		if err := os.WriteFile(users, []byte(a+":*:8:8::/nonexistent::\n"+b+":*:8:8::/nonexistent::\n"+d+":*:8:8::/nonexistent::\n"), 0o600); err != nil {
			t.Fatal(err)
		}

		base := time.Now().Add(-3 * time.Hour).Truncate(time.Second)
		now1, now2 := base.Add(time.Hour), base.Add(2*time.Hour)
		rfc := func(at time.Time, zone string, offset int) string {
			return at.In(time.FixedZone(zone, offset)).Format("2006-01-02T15:04:05.000000Z07:00") + " mail "
		}
		zulu := func(at time.Time) string { return at.UTC().Format("2006-01-02T15:04:05.9Z07:00") + " mail " }
		classic := func(at time.Time, layout string) string { return at.Local().Format(layout) + " mail " }
		m := func(min int) time.Time { return base.Add(time.Duration(min) * time.Minute) }
		relay := "relay=127.0.0.13[127.0.0.13]:2424, delay=0.1, delays=0/0/0/0.1, "
		rotated := []string{
			rfc(m(10), "CEST", 7200) + "postfix/smtpd[11]: 4AAA1: client=unknown[127.0.0.13]",
			rfc(m(10), "CEST", 7200) + "postfix/cleanup[12]: 4AAA1: message-id=<x1@orchestra.test>",
			rfc(m(10), "CEST", 7200) + "postfix/qmgr[13]: 4AAA1: from=<s@example.net>, size=1000, nrcpt=2 (queue active)",
			rfc(m(10), "CEST", 7200) + "postfix/lmtp[14]: 4AAA1: to=<" + strings.ToUpper(a) + "@mailbox.invalid>, orig_to=<\"x, status=deferred\"@d.example>, " + relay + "dsn=2.0.0, status=sent (250 2.0.0 <" + a + "@mailbox.invalid> k Saved)",
			rfc(m(10), "CEST", 7200) + "postfix/lmtp[14]: 4AAA1: to=<" + b + "@mailbox.invalid>, " + relay + "dsn=4.2.0, status=deferred (host said: 451 4.2.0 later)",
			zulu(m(20).Add(300*time.Millisecond)) + "postfix/submission/smtpd[15]: 4BBB2: client=unknown[127.0.0.13], sasl_method=PLAIN, sasl_username=" + strings.ToUpper(b),
			zulu(m(20)) + "postfix/qmgr[13]: 4BBB2: from=<b@d.example>, size=500, nrcpt=1 (queue active)",
			zulu(m(20)) + "postfix/smtp[16]: 4BBB2: to=<someone@example.net>, relay=mx.example.net[192.0.2.1]:25, delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (250 ok)",
			zulu(m(20)) + "postfix/qmgr[13]: 4BBB2: removed",
			// what senders write into addresses is not Postfix's
			rfc(m(30), "EST", -5*3600) + "postfix/qmgr[13]: 4CCC3: from=<\"evil, size=99999999, nrcpt=1 (queue active)\"@x.example>, size=300, nrcpt=2 (queue active)",
			rfc(m(30), "EST", -5*3600) + "postfix/lmtp[14]: 4CCC3: to=<" + a + "@mailbox.invalid>, orig_to=<\"y>, status=deferred (x\"@d.example>, " + relay + "dsn=2.0.0, status=sent (250 2.0.0 Saved)",
			rfc(m(30), "EST", -5*3600) + "postfix/lmtp[14]: 4CCC3: to=<" + d + "@mailbox.invalid>, orig_to=<\"q, status=sent (x\"@d.example>, " + relay + "dsn=4.2.0, status=deferred (451 4.2.0 later)",
			// another daemon's line, however it reads
			zulu(m(40)) + "dovecot[20]: 4AAA1: to=<" + a + "@mailbox.invalid>, " + relay + "dsn=2.0.0, status=sent (250 ok)",
			// deferred, then delivered in the second window
			zulu(m(70)) + "postfix/qmgr[13]: 4AAA1: from=<s@example.net>, size=1000, nrcpt=1 (queue active)",
			zulu(m(70)) + "postfix/lmtp[14]: 4AAA1: to=<" + b + "@mailbox.invalid>, " + relay + "dsn=2.0.0, status=sent (250 2.0.0 Saved)",
			zulu(m(70)) + "postfix/qmgr[13]: 4AAA1: removed",
		}
		current := []string{
			classic(now1.Add(-time.Second), "Jan _2 15:04:05") + "postfix/qmgr[13]: 4EEE5: from=<s@example.net>, size=2000, nrcpt=1 (queue active)",
			classic(now1.Add(-time.Second), "Jan _2 15:04:05") + "postfix/lmtp[14]: 4EEE5: to=<" + a + "@mailbox.invalid>, " + relay + "dsn=2.0.0, status=sent (250 2.0.0 Saved)",
			classic(now1.Add(-time.Second), "Jan 02 15:04:05") + "postfix/qmgr[13]: 4FFF6: from=<s@example.net>, size=4000, nrcpt=1 (queue active)",
			// at the end of the first window: in the second
			classic(now1, "Jan 02 15:04:05") + "postfix/lmtp[14]: 4FFF6: to=<" + b + "@mailbox.invalid>, " + relay + "dsn=2.0.0, status=sent (250 2.0.0 Saved)",
			// a queue id forgotten once its message is removed
			classic(now1, "Jan 02 15:04:05") + "postfix/qmgr[13]: 4GGG7: from=<s@example.net>, size=700, nrcpt=1 (queue active)",
			classic(now1, "Jan 02 15:04:05") + "postfix/qmgr[13]: 4GGG7: removed",
			classic(now1.Add(time.Minute), "Jan 02 15:04:05") + "postfix/lmtp[14]: 4GGG7: to=<" + a + "@mailbox.invalid>, " + relay + "dsn=2.0.0, status=sent (250 2.0.0 Saved)",
			// not on this server
			classic(now1.Add(2*time.Minute), "Jan 02 15:04:05") + "postfix/qmgr[13]: 4HHH8: from=<s@example.net>, size=16000, nrcpt=1 (queue active)",
			classic(now1.Add(2*time.Minute), "Jan 02 15:04:05") + "postfix/lmtp[14]: 4HHH8: to=<" + c + "@mailbox.invalid>, " + relay + "dsn=2.0.0, status=sent (250 2.0.0 Saved)",
			// at the end of the second window: in neither
			classic(now2, "Jan 02 15:04:05") + "postfix/qmgr[13]: 4III9: from=<s@example.net>, size=8000, nrcpt=1 (queue active)",
			classic(now2, "Jan 02 15:04:05") + "postfix/lmtp[14]: 4III9: to=<" + a + "@mailbox.invalid>, " + relay + "dsn=2.0.0, status=sent (250 2.0.0 Saved)",
			"garbage that is no log line",
		}
		for f, lines := range map[string][]string{logFile + ".1": rotated, logFile: current} {
			if err := os.WriteFile(f, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
		}

		ctx := viewer.System(context.Background(), viewer.ChannelCLI)
		id := bed.Admin.Do("POST", "/resources", map[string]any{"name": "traffic", "label": "Traffic", "model": "Mailbox", "unit": "B",
			"aggregation": "last", "monitors": []string{mail.TrafficMonitor}}).Want(http.StatusCreated).ID()
		r := st.Resource.GetX(ctx, id)
		for _, now := range []time.Time{now1, now2} {
			round, err := resources.Measure(ctx, st, bed.Ex, r, now, time.Minute)
			if err != nil || len(round.Failed) != 0 || round.Samples != 3 {
				t.Fatalf("measuring at %s: %+v %v", now.Format(time.TimeOnly), round, err)
			}
		}
		got := map[string][]string{}
		for n, id := range ids {
			for _, s := range st.MonitorSample.Query().Where(monitorsample.Monitor(mail.TrafficMonitor), monitorsample.ObjectID(id)).
				Order(ent.Asc(monitorsample.FieldCreatedAt)).AllX(ctx) {
				got[n] = append(got[n], s.Value.String())
			}
		}
		want := map[string][]string{a: {"3300", "0"}, b: {"500", "5000"}, d: {"0", "0"}}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("traffic samples: %v, want %v", got, want)
		}
	})
}

// message is a plain text message of about size bytes (lines of 1000
// bytes) with its own Message-ID.
func message(from, to, subject string, size int) string {
	var body strings.Builder
	for i := 0; body.Len() < size; i++ {
		fmt.Fprintf(&body, "%04d %s\r\n", i, strings.Repeat(string(rune('a'+i%26)), 993))
	}
	return "From: <" + from + ">\r\nTo: <" + to + ">\r\nSubject: " + subject + "\r\nDate: " + time.Now().Format(time.RFC1123Z) +
		"\r\nMessage-ID: <" + mailtest.Token() + "@orchestra.test>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n" + body.String()
}

// header is the value of a header of msg, as message writes them.
func header(msg, name string) string {
	for _, l := range strings.Split(msg, "\r\n") {
		if v, ok := strings.CutPrefix(l, name+": "); ok {
			return strings.Trim(v, "<>")
		}
		if l == "" {
			break
		}
	}
	return ""
}

var (
	logQueueID = regexp.MustCompile(`postfix/[a-z/]+\[\d+\]: ([0-9A-Za-z]+): (.*)$`)
	logSize    = regexp.MustCompile(`^from=<.*>, size=(\d+), nrcpt=\d+ \(queue active\)$`)
)

// waitLogged waits until the bed's Postfix log has each message (by its
// Message-ID) delivered to its mailbox (status=sent) and returns the size
// the queue took each with.
func waitLogged(t *testing.T, mb *mailtest.Bed, want map[string]string) map[string]int {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		text, err := os.ReadFile(mb.Log("postfix.log"))
		if err != nil {
			t.Fatal(err)
		}
		queue, size, delivered := map[string]string{}, map[string]int{}, map[string]bool{}
		for _, l := range strings.Split(string(text), "\n") {
			f := logQueueID.FindStringSubmatch(l)
			if f == nil {
				continue
			}
			q, msg := f[1], f[2]
			if id, ok := strings.CutPrefix(msg, "message-id=<"); ok {
				queue[strings.TrimSuffix(id, ">")] = q
			} else if s := logSize.FindStringSubmatch(msg); s != nil {
				size[q], _ = strconv.Atoi(s[1])
			} else if to, ok := strings.CutPrefix(msg, "to=<"); ok && strings.Contains(msg, ", status=sent ") {
				delivered[q+" "+to[:strings.IndexByte(to, '>')]] = true
			}
		}
		out := map[string]int{}
		for id, box := range want {
			if q := queue[id]; delivered[q+" "+box+"@"+mailtest.PseudoDomain] && size[q] > 0 {
				out[id] = size[q]
			}
		}
		if len(out) == len(want) {
			return out
		}
		if time.Now().After(deadline) {
			t.Fatalf("the Postfix log shows %d of %d messages delivered after 30s", len(out), len(want))
		}
	}
}

// quotaGet is what doveadm says of name's quota: the storage it counts and
// its limit, in KiB (-1: none).
func quotaGet(t *testing.T, mb *mailtest.Bed, name string) (used, limit int64) {
	t.Helper()
	out, err := exec.Command("doveadm", "-c", mb.DovecotConf(), "-f", "tab", "quota", "get", "-u", name).Output()
	if err != nil {
		t.Fatalf("doveadm quota get -u %s: %v", name, err)
	}
	for _, l := range strings.Split(string(out), "\n") {
		f := strings.Split(l, "\t")
		if len(f) >= 4 && f[1] == "STORAGE" {
			used, _ = strconv.ParseInt(f[2], 10, 64)
			limit = -1
			if f[3] != "-" {
				limit, _ = strconv.ParseInt(f[3], 10, 64)
			}
			return used, limit
		}
	}
	t.Fatalf("doveadm quota get -u %s: no storage in %q", name, out)
	return 0, 0
}
