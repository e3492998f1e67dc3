package validate

import (
	"context"
	"strings"

	"github.com/danielgtaylor/huma/v2/validation"

	"github.com/orchestra-panel/orchestra/internal/i18n"
)

// plainMessages say huma's most frequent messages as sentences.
var plainMessages = []struct{ huma, plain string }{
	{validation.MsgExpectedMaxLength, i18n.M("Enter at most %s characters.")},
	{validation.MsgExpectedMinLength, i18n.M("Enter at least %s characters.")},
	{validation.MsgExpectedMaximumNumber, i18n.M("Enter a number up to %s.")},
	{validation.MsgExpectedMinimumNumber, i18n.M("Enter a number from %s.")},
	{validation.MsgExpectedMaxItems, i18n.M("Give at most %s.")},
	{validation.MsgExpectedOneOf, i18n.M("Choose one of %s.")},
	{validation.MsgUnexpectedProperty, i18n.M("This field is unknown.")},
	{validation.MsgExpectedInteger, i18n.M("Enter a whole number.")},
	{validation.MsgExpectedString, i18n.M("Enter a text.")},
	{validation.MsgExpectedBoolean, i18n.M("Enter true or false.")},
}

// Plain is huma's message msg as a sentence, translated; others as they are.
func Plain(ctx context.Context, msg string) string {
	for _, m := range plainMessages {
		pre, post, hasArg := strings.Cut(m.huma, "%")
		if !hasArg {
			if msg == m.huma {
				return i18n.T(ctx, m.plain)
			}
			continue
		}
		post = post[1:] // the verb's letter
		if arg, ok := strings.CutPrefix(msg, pre); ok {
			if arg, ok = strings.CutSuffix(arg, post); ok {
				return i18n.T(ctx, m.plain, strings.Trim(arg, `"`))
			}
		}
	}
	return msg
}
