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
