package i18n

import (
	"context"
	"testing"
)

func TestTranslate(t *testing.T) {
	if err := AddMessages("es", map[string]string{"Not found.": "No encontrado.", "Ensure this value has at most %d characters.": "Asegúrate de que tiene como mucho %d caracteres."}); err != nil {
		t.Fatal(err)
	}
	es := WithLanguage(context.Background(), "es")
	cases := []struct {
		ctx       context.Context
		msg, want string
		args      []any
	}{
		{context.Background(), "Not found.", "Not found.", nil},
		{es, "Not found.", "No encontrado.", nil},
		{es, "Ensure this value has at most %d characters.", "Asegúrate de que tiene como mucho 32 caracteres.", []any{32}},
		{es, "Untranslated text.", "Untranslated text.", nil}, // falls back to English
		{WithLanguage(context.Background(), "xx-not-a-language"), "Not found.", "Not found.", nil},
	}
	for _, c := range cases {
		if got := T(c.ctx, c.msg, c.args...); got != c.want {
			t.Errorf("T(%q) in %s = %q, want %q", c.msg, Language(c.ctx), got, c.want)
		}
	}
}

// TestAccepted: a browser's preferred language the panel speaks is chosen.
func TestAccepted(t *testing.T) {
	for header, want := range map[string]string{
		"":                        "",
		"es-ES,es;q=0.9,en;q=0.8": "es",
		"ca":                      "ca",
		"fr-FR,fr;q=0.9,ca;q=0.5": "ca",
		"en-GB":                   "en",
		"de":                      "",
		"not a header;;;":         "",
	} {
		if got := Accepted(header); got != want {
			t.Errorf("Accepted(%q) = %q, want %q", header, got, want)
		}
	}
}
