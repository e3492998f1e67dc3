package mail

import (
	"strings"

	"github.com/orchestra-panel/orchestra/internal/i18n"
	"github.com/orchestra-panel/orchestra/internal/orchestration"
)

// sieveOf is the script a mailbox's filtering runs at delivery: a preset,
// or the mailbox's own script (checked when it was saved). A spam score is
// compared as a number; a negative one (ham) never matches, although
// i;ascii-numeric would read "-3" as infinity.
func sieveOf(o orchestration.Object) string {
	header := SpamScoreHeader.Get()
	spam := func(score, action string) string {
		return "require [\"fileinto\", \"relational\", \"comparator-i;ascii-numeric\"];\n" +
			"# " + o.String("filtering") + ", written by the panel\n" +
			"if allof (not header :matches " + sieveString(header) + " \"-*\",\n" +
			"          header :value \"ge\" :comparator \"i;ascii-numeric\" " + sieveString(header) + " " + sieveString(score) + ") {\n" +
			"  " + action + "\n  stop;\n}\n"
	}
	switch o.String("filtering") {
	case FilterRedirect:
		return spam("8", `fileinto "Spam";`)
	case FilterRedirect5:
		return spam("5", `fileinto "Spam";`)
	case FilterReject:
		return spam("8", "discard;")
	case FilterReject5:
		return spam("5", "discard;")
	case FilterCustom:
		return o.String("custom_filtering")
	}
	return "keep;\n"
}

// foldersOf are the folders a mailbox's filtering files into: created and
// subscribed when it is applied.
func foldersOf(o orchestration.Object) []string {
	switch o.String("filtering") {
	case FilterRedirect, FilterRedirect5:
		return []string{"Spam"}
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
func sieveString(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}
