package jobs

// StartPatience lets tests shorten how long Start keeps trying.
var StartPatience = &startPatience
