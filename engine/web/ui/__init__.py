"""The pages people use in a browser: sign-in, their pending decisions, decision links."""
