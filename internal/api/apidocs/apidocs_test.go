package apidocs

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"
)

type Address struct {
	Street string `json:"street" minLength:"1" doc:"Street and number"`
	Zip    string `json:"zip" pattern:"^[0-9]{5}$"`
}

// Folder refers to itself, exercising the recursion guard.
type Folder struct {
	Name     string   `json:"name"`
	Children []Folder `json:"children,omitempty"`
}

type Site struct {
	ID     string  `json:"id" format:"uuid" readOnly:"true"`
	Domain string  `json:"domain"`
	Owner  Address `json:"owner"`
	Root   Folder  `json:"root"`
}

type createSiteInput struct {
	Body struct {
		Domain string `json:"domain" minLength:"3" maxLength:"253" format:"hostname" doc:"Primary domain name"`
		PHP    string `json:"php,omitempty" enum:"8.2,8.3" default:"8.3"`
		Owner  struct {
			Email   string  `json:"email" format:"email"`
			Address Address `json:"address"`
		} `json:"owner"`
		Root   Folder `json:"root,omitempty"`
		Secret string `json:"internalSecret,omitempty" hidden:"true"`
	}
}

type getSiteInput struct {
	ID      string `path:"id" maxLength:"36" doc:"Site ID"`
	Verbose bool   `query:"verbose"`
}

type siteOutput struct{ Body Site }

func newAPI() huma.API {
	cfg := huma.DefaultConfig("Orchestra Test API", "1.2.3")
	cfg.Info.Description = "Manage <sites> & more."
	cfg.Components.SecuritySchemes = map[string]*huma.SecurityScheme{"bearer": {Type: "http", Scheme: "bearer"}}
	cfg.Security = []map[string][]string{{"bearer": {}}}
	cfg.Tags = []*huma.Tag{{Name: "Sites", Description: "Hosted websites"}}
	api := humago.New(http.NewServeMux(), cfg)

	huma.Register(api, huma.Operation{OperationID: "create-site", Method: http.MethodPost, Path: "/sites",
		Summary: "Create a site", Tags: []string{"Sites"}},
		func(context.Context, *createSiteInput) (*siteOutput, error) { return nil, nil })
	huma.Register(api, huma.Operation{OperationID: "get-site", Method: http.MethodGet, Path: "/sites/{id}",
		Summary: "Get a site", Tags: []string{"Sites"}, Errors: []int{404}},
		func(context.Context, *getSiteInput) (*siteOutput, error) { return nil, nil })
	huma.Register(api, huma.Operation{OperationID: "health", Method: http.MethodGet, Path: "/health",
		Summary: "Health check", Tags: []string{"System"}, Security: []map[string][]string{}},
		func(context.Context, *struct{}) (*struct{}, error) { return nil, nil })
	return api
}

func TestHandler(t *testing.T) {
	api := newAPI()
	calls := 0
	h := Handler("API reference", "/openapi.json", func() *huma.OpenAPI { calls++; return api.OpenAPI() })

	var body string
	for range 2 {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/docs", nil))
		if rec.Code != http.StatusOK {
			t.Fatalf("status %d", rec.Code)
		}
		if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
			t.Fatalf("content type %q", ct)
		}
		b, _ := io.ReadAll(rec.Body)
		body = string(b)
	}
	if calls != 1 {
		t.Errorf("spec built %d times, want once", calls)
	}

	for _, want := range []string{
		"<title>API reference</title>", "v1.2.3", `href="/openapi.json"`, "Manage &lt;sites&gt; &amp; more.",
		// operations, anchors, TOC, tags
		`id="create-site"`, `href="#create-site"`, `<code class="path">/sites</code>`, `<code class="path">/sites/{id}</code>`,
		`<code class="path">/health</code>`, `m-post`, "Create a site", `id="tag-Sites"`, "Hosted websites", `id="tag-System"`,
		// parameters
		`<code class="fn">id</code>`, `<code class="fn">verbose</code>`, "Site ID", "maxLength: 36",
		// nested request body fields and constraints
		`<code class="fn">domain</code>`, `<code class="fn">email</code>`, `<code class="fn">street</code>`, `<code class="fn">zip</code>`,
		"minLength: 3", "maxLength: 253", "format: hostname", "format: email", "pattern: ^[0-9]{5}$",
		"enum: 8.2, 8.3", "default: 8.3", "Primary domain name", "Street and number",
		// $ref links, recursion, responses
		`href="#schema-Address"`, `id="schema-Folder"`, `<code class="fn">children</code>`, "recursive",
		">404<", "application/problem", `href="#schema-ErrorModel"`,
		"public", "auth required",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	for _, unwanted := range []string{"internalSecret", "<script src"} {
		if strings.Contains(body, unwanted) {
			t.Errorf("page contains %q", unwanted)
		}
	}
	if ext := regexp.MustCompile(`(?i)(src|href)\s*=\s*["']?(https?:)?//`).FindString(body); ext != "" {
		t.Errorf("page references an external asset: %s", ext)
	}
	// readOnly fields are response-only, so the request body must not list id.
	req := body[strings.Index(body, `id="create-site"`):strings.Index(body, `id="get-site"`)]
	req = req[strings.Index(req, "Request body"):strings.Index(req, "Responses")]
	if strings.Contains(req, `<code class="fn">id</code>`) {
		t.Error("readOnly field shown in request body")
	}
}

// A schema that refers to itself directly must terminate and be marked.
func TestRecursiveRef(t *testing.T) {
	reg := huma.NewMapRegistry("#/components/schemas/", huma.DefaultSchemaNamer)
	reg.Map()["Loop"] = &huma.Schema{Type: "object", Properties: map[string]*huma.Schema{
		"next": {Ref: "#/components/schemas/Loop"},
	}}
	x := newExpander(reg)
	n := x.node(&huma.Schema{Ref: "#/components/schemas/Loop"}, 0)
	if len(n.Fields) != 1 || !n.Fields[0].Recursive || n.Fields[0].Link != "schema-Loop" {
		t.Fatalf("unexpected expansion: %+v", n.Fields)
	}
}

func TestMethodNotAllowed(t *testing.T) {
	rec := httptest.NewRecorder()
	Handler("", "", func() *huma.OpenAPI { return nil }).ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/", nil))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Fatalf("status %d", rec.Code)
	}
}
