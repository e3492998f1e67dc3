package mail

import (
	"slices"
	"strings"

	"github.com/orchestra-panel/orchestra/internal/i18n"
	"github.com/orchestra-panel/orchestra/internal/orchestration"
)

// sieveOf is the script a mailbox runs at delivery: its filtering (a
// preset, or the mailbox's own script, checked when it was saved), then
// the autoresponses it answers for. A spam score is compared as a number; a
// negative one (ham) never matches, although i;ascii-numeric would read
// "-3" as infinity. A custom script beside autoresponses is custom.sieve,
// included, so that its require and ours never meet.
func sieveOf(o orchestration.Object, vacations []vacation) (active, custom string) {
	var require []string
	body := ""
	spam := func(score, action string) {
		header := SpamScoreHeader.Get()
		require = []string{"fileinto", "mailbox", "relational", "comparator-i;ascii-numeric"}
		body = "if allof (not header :matches " + sieveString(header) + " \"-*\",\n" +
			"          header :value \"ge\" :comparator \"i;ascii-numeric\" " + sieveString(header) + " " + sieveString(score) + ") {\n" +
			"  " + action + "\n  stop;\n}\n"
	}
	switch o.String("filtering") {
	case FilterRedirect:
		spam("8", `fileinto :create "Spam";`)
	case FilterRedirect5:
		spam("5", `fileinto :create "Spam";`)
	case FilterReject:
		spam("8", "discard;")
	case FilterReject5:
		spam("5", "discard;")
	case FilterCustom:
		if len(vacations) == 0 {
			return o.String("custom_filtering"), ""
		}
		custom = o.String("custom_filtering")
		require, body = []string{"include"}, "include :personal \"custom\";\n"
	}
	vreq, vbody := vacationSieve(vacations)
	require = append(require, vreq...)
	body += vbody
	if body == "" {
		return "keep;\n", custom
	}
	var req []string
	for i, r := range require {
		if !slices.Contains(require[:i], r) {
			req = append(req, sieveString(r))
		}
	}
	return "require [" + strings.Join(req, ", ") + "];\n# " + o.String("filtering") + ", written by the panel\n" + body, custom
}

// foldersOf are the folders a mailbox's own script files into: created and
// subscribed when it is applied. The presets' Spam folder is the server's
// to create and subscribe for every mailbox (Dovecot's auto = subscribe),
// which costs nothing per mailbox; their fileinto :create makes it anyway.
func foldersOf(o orchestration.Object) []string {
	switch o.String("filtering") {
	case FilterCustom:
		folders, _ := CheckSieve(o.String("custom_filtering"))
		return folders
	}
	return nil
}

// folderProblem says why a folder a script files into is refused: it is a
// name inside the mailbox, never a path.
func folderProblem(f string) string {
	switch {
	case f == "" || len(f) > 100:
		return i18n.M("A folder name has 1 to 100 characters.")
	case strings.HasPrefix(f, ".") || strings.HasPrefix(f, "~") || strings.ContainsAny(f, "/\\*%"):
		return i18n.M("A folder name does not start with . or ~ and holds none of / \\ * %.")
	}
	for _, r := range f {
		if r < 0x20 || r == 0x7f {
			return i18n.M("A folder name holds no control characters.")
		}
	}
	return ""
}

// sieveString quotes s as a Sieve string.
func sieveString(s string) string { return `"` + sieveEscapes.Replace(s) + `"` }

var sieveEscapes = strings.NewReplacer(`\`, `\\`, `"`, `\"`)
