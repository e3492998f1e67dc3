package billing

// HandleChanges is the orders consumer's handler, for a test that kills
// a process within it.
var HandleChanges = handleChanges
