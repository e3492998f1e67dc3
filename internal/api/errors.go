package api

import (
	"context"
	"errors"
	"log/slog"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/orchestra-panel/orchestra/internal/authz"
	"github.com/orchestra-panel/orchestra/internal/i18n"
	"github.com/orchestra-panel/orchestra/internal/settings"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
	"github.com/orchestra-panel/orchestra/internal/validate"
)

// errStale is returned when an update names a version that is no longer current.
var errStale = errors.New("stale version")

// fail turns any error from the store or the rules into the one error shape
// (RFC 9457 problem details with field-level errors). Only errors nobody
// anticipated become a 500, and they are logged.
func fail(ctx context.Context, err error) error {
	var (
		verrs     validate.Errors
		conflict  *validate.Conflict
		forbidden *authz.Forbidden
		invalid   *settings.InvalidError
		se        huma.StatusError
		entv      *ent.ValidationError
	)
	switch {
	case err == nil:
		return nil
	case errors.As(err, &se):
		return se
	case errors.As(err, &verrs):
		details := make([]error, len(verrs))
		for i, f := range verrs {
			details[i] = &huma.ErrorDetail{Location: "body." + f.Field, Message: f.Message}
		}
		return huma.Error422UnprocessableEntity(i18n.T(ctx, "validation failed"), details...)
	case errors.As(err, &conflict):
		return huma.Error409Conflict(conflict.Message, &huma.ErrorDetail{Location: "body." + conflict.Field, Message: conflict.Message})
	case errors.Is(err, authz.ErrAnonymous):
		return huma.Error401Unauthorized(i18n.T(ctx, "Authentication required: log in or send a bearer token."))
	case errors.As(err, &forbidden):
		if forbidden.Field != "" {
			return huma.Error403Forbidden(i18n.T(ctx, forbidden.Message),
				&huma.ErrorDetail{Location: "body." + forbidden.Field, Message: i18n.T(ctx, forbidden.Message)})
		}
		return huma.Error403Forbidden(i18n.T(ctx, forbidden.Message))
	case ent.IsNotFound(err):
		return huma.Error404NotFound(i18n.T(ctx, "Not found."))
	case errors.Is(err, errStale):
		return huma.Error412PreconditionFailed(i18n.T(ctx, "The object was changed by someone else since you read it: reload it and apply your change again."))
	case errors.Is(err, settings.ErrUnknown):
		return huma.Error404NotFound(i18n.T(ctx, "No such setting."))
	case errors.As(err, &invalid):
		return huma.Error422UnprocessableEntity(i18n.T(ctx, "validation failed"),
			&huma.ErrorDetail{Location: "body.value", Message: invalid.Message})
	case errors.As(err, &entv):
		// The schema's own limits, should a rule ever be looser than them.
		return huma.Error422UnprocessableEntity(i18n.T(ctx, "validation failed"),
			&huma.ErrorDetail{Location: "body." + entv.Name, Message: entv.Unwrap().Error()})
	case ent.IsConstraintError(err):
		// The rules check uniqueness first; this is a race between two writers.
		return huma.Error409Conflict(i18n.T(ctx, "The change conflicts with existing data."))
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return huma.NewError(http.StatusServiceUnavailable, i18n.T(ctx, "The request was cancelled or timed out."))
	}
	slog.ErrorContext(ctx, "api: unexpected error", "err", err)
	return huma.Error500InternalServerError(i18n.T(ctx, "Internal error; it has been logged."))
}
