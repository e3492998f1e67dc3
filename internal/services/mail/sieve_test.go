package mail

import (
	"slices"
	"testing"
)

// TestCheckSieve: scripts Pigeonhole runs pass and give the folders they
// file into; a mistake is told with its line.
func TestCheckSieve(t *testing.T) {
	good := []struct {
		src     string
		folders []string
	}{
		{"", nil},
		{`keep;`, nil},
		{"require [\"fileinto\", \"relational\", \"comparator-i;ascii-numeric\"];\n# spam\nif header :value \"ge\" :comparator \"i;ascii-numeric\" \"X-Spam-Score\" \"8\" {\n  fileinto \"Spam\";\n  stop;\n}\n", []string{"Spam"}},
		{"require \"fileinto\";\nif anyof (header :contains \"subject\" \"invoice\", address :is \"from\" \"a@b.c\") {\n fileinto \"Invoices\";\n} elsif not exists \"x-y\" { discard; } else { keep; }", []string{"Invoices"}},
		{"require \"vacation\";\nvacation :days 3 :subject \"Away\" text:\nI am away.\n..dot-stuffed\n.\n;", nil},
		{"/* a\ncomment */ if size :over 10M { discard; }", nil},
	}
	for _, c := range good {
		folders, err := CheckSieve(c.src)
		if err != nil || !slices.Equal(folders, c.folders) {
			t.Errorf("CheckSieve(%q) = %v, %v; want %v", c.src, folders, err, c.folders)
		}
	}
	bad := []struct {
		src  string
		line int
	}{
		{"keep", 1},
		{"fileinto \"Spam\";", 1},
		{"keep;\n\nfrobnicate;", 3},
		{"require \"nosuch\";", 1},
		{"if true {\n keep;\n", 2},
		{"else { keep; }", 1},
		{"if header :is \"a\" \"b\" keep;", 1},
		{"if anyof (true false) { keep; }", 1},
		{"keep;\n\"unclosed", 2},
		{"if blah { keep; }", 1},
		{"require \"vacation\";\nvacation text:\nno end", 2},
		{"keep; @", 1},
	}
	for _, c := range bad {
		if _, err := CheckSieve(c.src); err == nil || err.Line != c.line {
			t.Errorf("CheckSieve(%q) = %v; want a mistake on line %d", c.src, err, c.line)
		}
	}
}
