package api

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/orchestra-panel/orchestra/internal/i18n"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
	"github.com/orchestra-panel/orchestra/internal/store/ent/history"
	"github.com/orchestra-panel/orchestra/internal/store/ent/predicate"
	"github.com/orchestra-panel/orchestra/internal/viewer"
)

// HistoryEntry is one recorded change.
type HistoryEntry struct {
	ID         int            `json:"id"`
	Time       time.Time      `json:"time"`
	ActorID    *int           `json:"actor_id"`
	Actor      string         `json:"actor"`
	Channel    string         `json:"channel" doc:"api, web, cli or system."`
	Action     string         `json:"action" doc:"create, update or delete."`
	ObjectType string         `json:"object_type"`
	ObjectID   int            `json:"object_id"`
	ObjectRepr string         `json:"object_repr"`
	Account    *int           `json:"account"`
	Changes    map[string]any `json:"changes" doc:"Changed fields with old and new values; secrets only say they changed."`
}

func historyOut(h *ent.History) HistoryEntry {
	return HistoryEntry{ID: h.ID, Time: h.Time, ActorID: h.ActorID, Actor: h.Actor, Channel: h.Channel,
		Action: h.Action, ObjectType: h.ObjectType, ObjectID: h.ObjectID, ObjectRepr: h.ObjectRepr,
		Account: h.AccountID, Changes: h.Changes}
}

var historyListing = Listing{
	Orderable: []string{"id", "time", "object_type", "actor"},
	Search:    []string{"object_repr", "actor"},
	Default:   "-time",
}

func (s *Server) historyRoutes() {
	huma.Register(s.api, present(op("list-history", http.MethodGet, "/history", "List recorded changes", "History"), historyListing, Presentation{Name: "history", Label: "History", Singular: "Recorded change", Group: "activity", Title: "id", Columns: []string{"time", "actor", "action", "object_type", "object_repr", "channel"}, Refs: map[string]string{"actor_id": "account"}, ReadOnly: true}),
		func(ctx context.Context, in *struct {
			ListParams
			ObjectType string `query:"object_type" maxLength:"64" doc:"e.g. Account, Contact, Token, Setting."`
			ObjectID   int    `query:"object_id" minimum:"0"`
			ActorID    int    `query:"actor_id" minimum:"0"`
			Actor      string `query:"actor" maxLength:"32" doc:"Username of the actor."`
			Account    int    `query:"account" minimum:"0"`
			Action     string `query:"action" enum:"create,update,delete"`
			Channel    string `query:"channel" enum:"api,web,cli,system"`
		}) (*struct{ Body *Page[HistoryEntry] }, error) {
			where, order, err := historyListing.plan(ctx, in.ListParams, eq(
				"object_type", in.ObjectType, "object_id", in.ObjectID, "actor_id", in.ActorID, "actor", in.Actor,
				"account_id", in.Account, "action", in.Action, "channel", in.Channel))
			if err != nil {
				return nil, err
			}
			q := s.st.History.Query().Where(predicate.History(where))
			for _, o := range order {
				q = q.Order(history.OrderOption(o))
			}
			page, err := paginate(ctx, q, in.ListParams, historyOut)
			if err != nil {
				return nil, fail(ctx, err)
			}
			return &struct{ Body *Page[HistoryEntry] }{page}, nil
		})

	huma.Register(s.api, op("get-history", http.MethodGet, "/history/{id}", "Get a recorded change", "History"),
		func(ctx context.Context, in *IDPath) (*struct{ Body HistoryEntry }, error) {
			h, err := s.st.History.Get(ctx, in.ID)
			if err != nil {
				return nil, fail(ctx, err)
			}
			return &struct{ Body HistoryEntry }{historyOut(h)}, nil
		})
}

// viewerAccount is the acting account's id (0 for the system).
func viewerAccount(ctx context.Context) int {
	v, _ := viewer.From(ctx)
	return v.AccountID
}

// what a recorded change did, and through which door, in words
func init() {
	SayValues(map[string]string{"create": i18n.M("created"), "update": i18n.M("changed"), "delete": i18n.M("deleted"),
		"save": i18n.M("saved"), "api": "API", "web": i18n.M("web"), "cli": i18n.M("command line"), "system": i18n.M("the panel")})
}
