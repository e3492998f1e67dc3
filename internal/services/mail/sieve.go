package mail

import (
	"fmt"
	"strings"

	"github.com/orchestra-panel/orchestra/internal/i18n"
)

// A Sieve script (RFC 5228) is checked when it is saved, so that a mistake
// is told with its line instead of failing on the mail server. The checker
// reads the grammar, the commands and tests Dovecot's Pigeonhole runs, and
// refuses an extension used without its require.

// SieveError is a script's first mistake: its line and a message (English,
// a format for Args, translated where shown).
type SieveError struct {
	Line int
	Msg  string
	Args []any
}

func (e *SieveError) Error() string {
	return fmt.Sprintf("line %d: "+e.Msg, append([]any{e.Line}, e.Args...)...)
}

// sieveExtensions are those require may name.
var sieveExtensions = map[string]bool{
	"fileinto": true, "reject": true, "envelope": true, "encoded-character": true, "comparator-i;ascii-numeric": true,
	"relational": true, "regex": true, "imap4flags": true, "body": true, "variables": true, "vacation": true,
	"copy": true, "mailbox": true, "date": true, "subaddress": true, "include": true,
}

// sieveCommands are the commands, with the extension each needs ("" none).
var sieveCommands = map[string]string{
	"require": "", "if": "", "elsif": "", "else": "", "stop": "", "keep": "", "discard": "", "redirect": "",
	"fileinto": "fileinto", "reject": "reject", "vacation": "vacation", "setflag": "imap4flags",
	"addflag": "imap4flags", "removeflag": "imap4flags", "set": "variables", "include": "include", "return": "include",
}

// sieveTests are the tests, with the extension each needs.
var sieveTests = map[string]string{
	"address": "", "allof": "", "anyof": "", "exists": "", "false": "", "true": "", "header": "", "not": "",
	"size": "", "envelope": "envelope", "body": "body", "string": "variables", "date": "date",
	"currentdate": "date", "mailboxexists": "mailbox", "hasflag": "imap4flags",
}

type sieveToken struct {
	kind byte // i identifier, t tag, n number, s string, or the punctuation itself
	text string
	line int
}

// lexSieve splits a script into tokens.
func lexSieve(src string) ([]sieveToken, *SieveError) {
	var out []sieveToken
	line := 1
	for i := 0; i < len(src); {
		c := src[i]
		switch {
		case c == '\n':
			line++
			i++
		case c == ' ' || c == '\t' || c == '\r':
			i++
		case c == '#':
			for i < len(src) && src[i] != '\n' {
				i++
			}
		case strings.HasPrefix(src[i:], "/*"):
			end := strings.Index(src[i+2:], "*/")
			if end < 0 {
				return nil, &SieveError{line, i18n.M("A comment is not closed with */."), nil}
			}
			line += strings.Count(src[i:i+2+end], "\n")
			i += end + 4
		case c == '"':
			start, j := line, i+1
			var b strings.Builder
			for ; j < len(src) && src[j] != '"'; j++ {
				if src[j] == '\\' && j+1 < len(src) {
					j++
				}
				if src[j] == '\n' {
					line++
				}
				b.WriteByte(src[j])
			}
			if j >= len(src) {
				return nil, &SieveError{start, i18n.M("A string is not closed with a quote."), nil}
			}
			out = append(out, sieveToken{'s', b.String(), start})
			i = j + 1
		case strings.HasPrefix(src[i:], "text:"):
			start := line
			nl := strings.IndexByte(src[i:], '\n')
			if nl < 0 {
				return nil, &SieveError{start, i18n.M("A text: block ends with a line holding only a dot."), nil}
			}
			i += nl + 1
			line++
			var b strings.Builder
			for {
				if i >= len(src) {
					return nil, &SieveError{start, i18n.M("A text: block ends with a line holding only a dot."), nil}
				}
				end := strings.IndexByte(src[i:], '\n')
				if end < 0 {
					end = len(src) - i
				}
				l := strings.TrimSuffix(src[i:i+end], "\r")
				i += end + 1
				line++
				if l == "." {
					break
				}
				b.WriteString(strings.TrimPrefix(l, ".") + "\n")
			}
			out = append(out, sieveToken{'s', b.String(), start})
		case c >= '0' && c <= '9':
			j := i
			for j < len(src) && src[j] >= '0' && src[j] <= '9' {
				j++
			}
			if j < len(src) && strings.IndexByte("KMGkmg", src[j]) >= 0 {
				j++
			}
			out = append(out, sieveToken{'n', src[i:j], line})
			i = j
		case c == ':' || c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
			j := i + 1
			for j < len(src) && (src[j] == '_' || src[j] >= 'a' && src[j] <= 'z' || src[j] >= 'A' && src[j] <= 'Z' || src[j] >= '0' && src[j] <= '9') {
				j++
			}
			kind := byte('i')
			if c == ':' {
				kind = 't'
			}
			out = append(out, sieveToken{kind, strings.ToLower(src[i:j]), line})
			i = j
		case strings.IndexByte("[](){},;", c) >= 0:
			out = append(out, sieveToken{c, string(c), line})
			i++
		default:
			return nil, &SieveError{line, i18n.M("Unexpected character %q."), []any{string(c)}}
		}
	}
	return out, nil
}

type sieveParser struct {
	toks     []sieveToken
	pos      int
	required map[string]bool
	folders  []string // where fileinto files mail
}

func (p *sieveParser) peek() sieveToken {
	if p.pos < len(p.toks) {
		return p.toks[p.pos]
	}
	last := 1
	if len(p.toks) > 0 {
		last = p.toks[len(p.toks)-1].line
	}
	return sieveToken{kind: 0, line: last}
}

func (p *sieveParser) next() sieveToken { t := p.peek(); p.pos++; return t }

// CheckSieve reads a script and returns the folders it files mail into,
// or its first mistake.
func CheckSieve(src string) ([]string, *SieveError) {
	toks, err := lexSieve(src)
	if err != nil {
		return nil, err
	}
	p := &sieveParser{toks: toks, required: map[string]bool{}}
	if err := p.commands(false); err != nil {
		return nil, err
	}
	return p.folders, nil
}

func (p *sieveParser) commands(inBlock bool) *SieveError {
	prev := ""
	for {
		t := p.peek()
		if t.kind == 0 {
			if inBlock {
				return &SieveError{t.line, i18n.M("A block is not closed with }."), nil}
			}
			return nil
		}
		if t.kind == '}' && inBlock {
			return nil
		}
		if t.kind != 'i' {
			return &SieveError{t.line, i18n.M("Expected a command, not %q."), []any{t.text}}
		}
		p.next()
		ext, known := sieveCommands[t.text]
		switch {
		case !known:
			return &SieveError{t.line, i18n.M("Unknown command %q."), []any{t.text}}
		case ext != "" && !p.required[ext]:
			return &SieveError{t.line, i18n.M("%s needs require \"%s\" first."), []any{t.text, ext}}
		case (t.text == "elsif" || t.text == "else") && prev != "if" && prev != "elsif":
			return &SieveError{t.line, i18n.M("%s must follow if or elsif."), []any{t.text}}
		}
		args, err := p.arguments()
		if err != nil {
			return err
		}
		switch t.text {
		case "require":
			for _, a := range args {
				for _, s := range a.strings {
					if !sieveExtensions[s] {
						return &SieveError{t.line, i18n.M("The extension %q is not supported."), []any{s}}
					}
					p.required[s] = true
				}
			}
		case "fileinto":
			if n := len(args); n > 0 && len(args[n-1].strings) == 1 {
				p.folders = append(p.folders, args[n-1].strings[0])
			}
		}
		if t.text == "if" || t.text == "elsif" {
			if err := p.test(); err != nil {
				return err
			}
		}
		if b := p.peek(); t.text == "if" || t.text == "elsif" || t.text == "else" {
			if b.kind != '{' {
				return &SieveError{b.line, i18n.M("%s needs a block in { }."), []any{t.text}}
			}
		}
		switch b := p.next(); b.kind {
		case ';':
		case '{':
			if err := p.commands(true); err != nil {
				return err
			}
			p.next() // }
		default:
			return &SieveError{b.line, i18n.M("Expected ; after %s."), []any{t.text}}
		}
		prev = t.text
	}
}

type sieveArg struct{ strings []string }

// arguments reads tags, numbers and strings or string lists.
func (p *sieveParser) arguments() ([]sieveArg, *SieveError) {
	var out []sieveArg
	for {
		switch t := p.peek(); t.kind {
		case 't', 'n':
			p.next()
			out = append(out, sieveArg{})
		case 's':
			p.next()
			out = append(out, sieveArg{strings: []string{t.text}})
		case '[':
			p.next()
			var l []string
			for {
				s := p.next()
				if s.kind != 's' {
					return nil, &SieveError{s.line, i18n.M("A list holds strings in quotes, separated by commas."), nil}
				}
				l = append(l, s.text)
				if e := p.next(); e.kind == ']' {
					break
				} else if e.kind != ',' {
					return nil, &SieveError{e.line, i18n.M("A list holds strings in quotes, separated by commas."), nil}
				}
			}
			out = append(out, sieveArg{strings: l})
		default:
			return out, nil
		}
	}
}

// test reads one test, with its arguments and nested tests.
func (p *sieveParser) test() *SieveError {
	t := p.next()
	if t.kind != 'i' {
		return &SieveError{t.line, i18n.M("Expected a test, not %q."), []any{t.text}}
	}
	ext, known := sieveTests[t.text]
	switch {
	case !known:
		return &SieveError{t.line, i18n.M("Unknown test %q."), []any{t.text}}
	case ext != "" && !p.required[ext]:
		return &SieveError{t.line, i18n.M("%s needs require \"%s\" first."), []any{t.text, ext}}
	}
	if _, err := p.arguments(); err != nil {
		return err
	}
	switch t.text {
	case "not":
		return p.test()
	case "allof", "anyof":
		if o := p.next(); o.kind != '(' {
			return &SieveError{o.line, i18n.M("%s takes its tests in ( ), separated by commas."), []any{t.text}}
		}
		for {
			if err := p.test(); err != nil {
				return err
			}
			if e := p.next(); e.kind == ')' {
				return nil
			} else if e.kind != ',' {
				return &SieveError{e.line, i18n.M("%s takes its tests in ( ), separated by commas."), []any{t.text}}
			}
		}
	}
	return nil
}
