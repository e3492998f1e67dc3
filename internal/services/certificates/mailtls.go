package certificates

import (
	"context"
	"errors"
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/orchestra-panel/orchestra/internal/orchestration"
	"github.com/orchestra-panel/orchestra/internal/sealed"
	"github.com/orchestra-panel/orchestra/internal/services/mail"
	"github.com/orchestra-panel/orchestra/internal/services/web"
	"github.com/orchestra-panel/orchestra/internal/settings"
	"github.com/orchestra-panel/orchestra/internal/store/ent/certificate"
	"github.com/orchestra-panel/orchestra/internal/validate"
)

// MailTLSBackend makes the mail servers present the certificate of their
// host name (MAILBOXES_TLS_HOSTNAME) over STARTTLS: Postfix's key and chain
// in one file (MAILBOXES_TLS_CHAIN, smtpd_tls_chain_files: the key, then
// the certificate and its intermediates; 0600), Dovecot's chain and key
// (MAILBOXES_TLS_CERT, 0644, and MAILBOXES_TLS_KEY, 0600: ssl_cert and
// ssl_key, which Dovecot reads as root). A certificate counts when it has a
// chain and a key and both its names and its certificate cover the host
// name (the name itself, or a wildcard *. of one label). When several do,
// the one that expires last wins: a marker beside the chain
// (.orchestra-mail-tls: "ID NOT_AFTER", the id and unix seconds of the one
// installed) makes a certificate that expires earlier than the installed
// one, other than the installed one itself, wait; a renewal of the
// installed one always replaces it. Files are staged and renamed in place
// (WriteFile: a planted link is replaced, never followed), and Postfix and
// Dovecot are reloaded once per unit, only when their files changed and
// they run. When the installed certificate is deleted or no longer covers
// the name, its files stay (a mail server without a certificate is worse)
// and the unit says so on stderr; the marker then lets the next covering
// certificate saved replace it, whatever its date.
const MailTLSBackend = "mail-tls"

// Settings of the mail servers' certificate (each can be overridden per server).
var (
	MailTLSHostname = settings.String("MAILBOXES_TLS_HOSTNAME", "",
		"The name mail clients reach the mail server by (its MX, SMTP and IMAP host): Postfix and Dovecot present the certificate covering it that expires last; empty: the panel installs none.",
		settings.Validator(func(v any) error {
			if h := mailHostName(v.(string)); h != "" && !validHost(h) {
				return errors.New("a host name, without a wildcard")
			}
			return nil
		}))
	MailTLSChain = settings.String("MAILBOXES_TLS_CHAIN", "/etc/postfix/tls/mail.pem",
		"Postfix's file of the mail host's certificate (smtpd_tls_chain_files): its private key, then the certificate and its intermediates; root's alone. Empty: Postfix's is not written.",
		settings.Validator(mailTLSPath))
	MailTLSCert = settings.String("MAILBOXES_TLS_CERT", "/etc/dovecot/private/dovecot.pem",
		"Dovecot's file of the mail host's certificate and its intermediates (ssl_cert = <FILE). Empty, with MAILBOXES_TLS_KEY: Dovecot's are not written.",
		settings.Validator(mailTLSPath))
	MailTLSKey = settings.String("MAILBOXES_TLS_KEY", "/etc/dovecot/private/dovecot.key",
		"Dovecot's file of the mail host certificate's private key (ssl_key = <FILE), root's alone: Dovecot's master reads it as root.",
		settings.Validator(mailTLSPath))
)

// mailTLSFields are the fields whose change concerns the mail servers.
var mailTLSFields = []string{certificate.FieldCertificate, certificate.FieldPrivateKey, certificate.FieldNames}

func init() {
	var ignore []string
	for _, c := range certificate.Columns {
		if c != certificate.FieldID && !slices.Contains(mailTLSFields, c) {
			ignore = append(ignore, c)
		}
	}
	ignore = append(ignore, certificate.EdgeAccount, certificate.EdgeWebsite)
	orchestration.Register(&orchestration.Backend{
		Name: MailTLSBackend, Verbose: "Mail host certificate (Postfix, Dovecot)", Model: "Certificate",
		DefaultMatch: "true", IgnoreFields: ignore,
		Prepare: prepareMailTLS, Apply: applyMailTLS, Commit: commitMailTLS,
	})
}

func mailTLSPath(v any) error {
	if p := v.(string); p != "" && (!path.IsAbs(p) || path.Clean(p) != p || strings.ContainsAny(p, "\x00\r\n")) {
		return errors.New("an absolute path, or empty")
	}
	return nil
}

func mailHostName(h string) string {
	return strings.TrimSuffix(strings.ToLower(strings.TrimSpace(h)), ".")
}

func validHost(h string) bool { return len(h) <= 253 && hostName.MatchString(h) && !isWildcard(h) }

// mailTLSFiles are a server's settings for the backend.
type mailTLSFiles struct {
	host, chain, cert, key, marker string
}

// mailTLSOf reads srv's settings; none (an empty host name, or no file)
// means the backend writes nothing there.
func mailTLSOf(srv orchestration.Server) (f mailTLSFiles, ok bool, err error) {
	f = mailTLSFiles{host: mailHostName(srv.Setting(MailTLSHostname.Name(), MailTLSHostname.Get())),
		chain: srv.Setting(MailTLSChain.Name(), MailTLSChain.Get()), cert: srv.Setting(MailTLSCert.Name(), MailTLSCert.Get()),
		key: srv.Setting(MailTLSKey.Name(), MailTLSKey.Get())}
	if f.host == "" || f.chain == "" && f.cert == "" && f.key == "" {
		return f, false, nil
	}
	if !validHost(f.host) {
		return f, false, fmt.Errorf("%s: %q is not a host name", MailTLSHostname.Name(), f.host)
	}
	for _, p := range []struct{ name, path string }{{MailTLSChain.Name(), f.chain}, {MailTLSCert.Name(), f.cert},
		{MailTLSKey.Name(), f.key}} {
		if err := mailTLSPath(p.path); err != nil {
			return f, false, fmt.Errorf("%s: %q is not %w", p.name, p.path, err)
		}
	}
	if (f.cert == "") != (f.key == "") {
		return f, false, fmt.Errorf("%s and %s go together: set both, or neither", MailTLSCert.Name(), MailTLSKey.Name())
	}
	beside := f.chain
	if beside == "" {
		beside = f.key
	}
	f.marker = path.Dir(beside) + "/.orchestra-mail-tls"
	return f, true, nil
}

func prepareMailTLS(s *orchestration.Script, srv orchestration.Server) {
	f, ok, _ := mailTLSOf(srv)
	if !ok {
		return
	}
	s.Var("mtls_host", f.host)
	s.Var("mtls_marker", f.marker)
	s.Var("mtls_postfix_dir", srv.Setting(mail.PostfixDir.Name(), mail.PostfixDir.Get()))
	s.Var("mtls_doveconf", srv.Setting(mail.DovecotConf.Name(), mail.DovecotConf.Get()))
	s.Raw(mailTLSFunctions)
	var dirs []string
	for _, p := range []string{f.chain, f.cert, f.key, f.marker} {
		if d := path.Dir(p); p != "" && !slices.Contains(dirs, d) {
			dirs = append(dirs, d)
		}
	}
	s.Cmd(append([]string{"mtls_dirs"}, dirs...)...)
}

// mailTLSFunctions: the marker says which certificate is installed; a
// marker that is not a regular file (a link) counts as none, and is
// replaced with the next write.
const mailTLSFunctions = `mtls_postfix=0 mtls_dovecot=0 mtls_ok=0
# mtls_dirs DIR...: the files' folders, made root's if missing
mtls_dirs() {
  local d
  for d in "$@"; do [[ -d $d ]] || install -d -m 0755 -- "$d"; done
}
# mtls_installed: the id and not_after of the installed certificate, if any
mtls_installed() {
  local rest
  mtls_id= mtls_na=
  if [[ -f $mtls_marker && ! -L $mtls_marker ]]; then IFS=' ' read -r mtls_id mtls_na rest <"$mtls_marker" || true; fi
  [[ $mtls_id =~ ^[0-9]+$ && $mtls_na =~ ^[0-9]+$ ]] || mtls_id= mtls_na=
}
# mtls_check ID NOT_AFTER: mtls_ok=1 when certificate ID goes in: none is
# installed, it is the installed one, or it expires after the installed one
mtls_check() {
  mtls_installed
  mtls_ok=1
  if [[ -n $mtls_id && $mtls_id != "$1" ]] && (( $2 <= mtls_na )); then
    mtls_ok=0
    echo "certificate $1 expires no later than certificate $mtls_id, which the mail servers present for $mtls_host: left out"
  fi
}
# mtls_gone ID WHY: mtls_ok=1 when certificate ID is the installed one; it
# stays, and the next covering certificate saved replaces it
mtls_gone() {
  mtls_installed
  mtls_ok=0
  [[ $mtls_id == "$1" && $mtls_na != 0 ]] || return 0
  mtls_ok=1
  echo "orchestra: certificate $1, which the mail servers present for $mtls_host, $2: they keep presenting it until another certificate for $mtls_host is saved" >&2
}
# mtls_nolink PATH...: a link planted at a file's name goes (the file is
# written anew, never through it)
mtls_nolink() {
  local f
  for f in "$@"; do [[ ! -L $f ]] || rm -f -- "$f"; done
}
mtls_reload() {
  local out run pid
  if (( mtls_postfix )) && postfix -c "$mtls_postfix_dir" status >/dev/null 2>&1; then
    out=$(postfix -c "$mtls_postfix_dir" reload 2>&1) || { printf 'orchestra: postfix reload: %s\n' "$out" >&2; return 1; }
    echo "Postfix reloaded"
  fi
  if (( mtls_dovecot )); then
    run=$(doveconf -c "$mtls_doveconf" -h base_dir 2>/dev/null) || run=
    pid=$(cat -- "$run/master.pid" 2>/dev/null) || pid=
    if [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null; then
      out=$(doveadm -c "$mtls_doveconf" reload 2>&1) || { printf 'orchestra: doveadm reload: %s\n' "$out" >&2; return 1; }
      echo "Dovecot reloaded"
    fi
  fi
}`

func applyMailTLS(s *orchestration.Script, srv orchestration.Server, action string, o orchestration.Object) error {
	f, ok, err := mailTLSOf(srv)
	if err != nil || !ok {
		return err
	}
	id := strconv.Itoa(o.ID)
	names := snapshotNames(o)
	if action == orchestration.ActionSave {
		c, err := mailCert(o, f.host, names)
		if err != nil {
			return fmt.Errorf("certificate %d: %w", o.ID, err)
		}
		if c != nil {
			s.Cmd("mtls_check", id, strconv.FormatInt(c.notAfter, 10))
			s.Raw("if (( mtls_ok )); then")
			files := []string{f.chain, f.cert, f.key, f.marker}
			files = slices.DeleteFunc(files, func(p string) bool { return p == "" })
			s.Cmd(append([]string{"mtls_nolink"}, files...)...)
			s.Raw("changed=0")
			key := s.Secret(c.key)
			if f.chain != "" {
				s.WriteFile(f.chain, []byte(key+c.chain), "0600")
				s.Raw("(( ! changed )) || mtls_postfix=1; changed=0")
			}
			if f.cert != "" {
				s.WriteFile(f.cert, []byte(c.chain), "0644")
				s.WriteFile(f.key, []byte(key), "0600")
				s.Raw("(( ! changed )) || mtls_dovecot=1; changed=0")
			}
			s.WriteFile(f.marker, []byte(id+" "+strconv.FormatInt(c.notAfter, 10)+"\n"), "0600")
			s.Raw("fi")
			return nil
		}
	} else if !coversName(names, f.host) {
		return nil // never installed for the name
	}
	why := "no longer covers it"
	if action == orchestration.ActionDelete {
		why = "was deleted"
	}
	s.Cmd("mtls_gone", id, why)
	s.Raw("if (( mtls_ok )); then")
	s.Cmd("mtls_nolink", f.marker)
	s.WriteFile(f.marker, []byte(id+" 0\n"), "0600")
	s.Raw("fi")
	return nil
}

func commitMailTLS(s *orchestration.Script, srv orchestration.Server) {
	if _, ok, _ := mailTLSOf(srv); ok {
		s.Raw("mtls_reload")
	}
}

// snapshotNames are the certificate's names as its snapshot has them.
func snapshotNames(o orchestration.Object) []string {
	var out []string
	switch v := o.Snapshot["names"].(type) {
	case []any:
		for _, n := range v {
			if s, ok := n.(string); ok {
				out = append(out, s)
			}
		}
	case []string:
		out = v
	}
	return out
}

// coversName reports whether one of names is host, or a wildcard of one
// label covering it.
func coversName(names []string, host string) bool {
	for _, n := range names {
		n = mailHostName(n)
		if n == host {
			return true
		}
		if rest, ok := strings.CutPrefix(n, "*."); ok {
			if label, parent, ok := strings.Cut(host, "."); ok && label != "" && parent == rest {
				return true
			}
		}
	}
	return false
}

// mailTLSCert is what the files of a certificate hold.
type mailTLSCert struct {
	chain    string // the certificate and its intermediates, PEM
	key      string // the private key, PEM
	notAfter int64  // the certificate's, in unix seconds
}

// mailCert is certificate o's chain and key when it has both and covers
// host (its names and the certificate itself); nil when it does not.
func mailCert(o orchestration.Object, host string, names []string) (*mailTLSCert, error) {
	chainText, sealedKey := o.String("certificate"), o.String("private_key")
	if chainText == "" || sealedKey == "" || !coversName(names, host) {
		return nil, nil
	}
	var errs validate.Errors
	chain := parseChain(context.Background(), chainText, "certificate", &errs)
	if chain == nil {
		return nil, errs.Err()
	}
	if chain.leaf.VerifyHostname(host) != nil {
		return nil, nil // its names say more than the certificate
	}
	plain, err := sealed.Open(web.CertificateKeyPurpose, sealedKey)
	if err != nil {
		return nil, fmt.Errorf("its key: %w", err)
	}
	key, err := decodeKey(string(plain))
	if err != nil {
		return nil, fmt.Errorf("its key: %w", err)
	}
	if !matches(chain.leaf, key) {
		return nil, errors.New("its key is not the certificate's")
	}
	return &mailTLSCert{chain: chainText, key: string(plain), notAfter: chain.notAfter.Unix()}, nil
}
