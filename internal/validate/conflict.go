package validate

// Conflict reports a value that must be unique and is already taken.
type Conflict struct {
	Field   string
	Message string
}

func (c *Conflict) Error() string { return c.Field + ": " + c.Message }
