package orchestration

import (
	"fmt"
	"strings"
	"testing"
)

// BenchmarkMaskTenThousandSecrets masks the script of a unit of 10,000
// users with passwords (about 8 MB): one pass, not one per secret.
func BenchmarkMaskTenThousandSecrets(b *testing.B) {
	var secrets []string
	var sb strings.Builder
	for i := range 10_000 {
		h := fmt.Sprintf("$6$rounds=100000$salt%05d$%086d", i, i)
		secrets = append(secrets, h)
		fmt.Fprintf(&sb, "user=u%05d\nhash=%s\n%s\n", i, Quote(h), strings.Repeat("x", 700))
	}
	text := sb.String()
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		if out := MaskSecrets(text, secrets); strings.Contains(out, "$6$") {
			b.Fatal("a secret was left")
		}
		withoutPartialSecret(text, secrets)
	}
}
