"""The built-in text for the character language model, written for this project.

It explains, in plain words, the ideas the app shows, so a model trained on it babbles about
attention. It is lowercase and uses few punctuation marks, which keeps the vocabulary small
(about thirty characters) and lets a tiny model learn real words within a minute.
"""

CORPUS = """\
a language model reads a piece of text and guesses what comes next. it does not know any \
words at first. it only sees a long row of characters, and for every position it gives a \
score to each character that could follow. training nudges those scores, step by step, \
until the likely characters win more often than the unlikely ones.

the oldest way to read a sequence is one symbol at a time. a recurrent network keeps a \
small memory, a vector called the hidden state, and updates it after every character. the \
state has to carry everything the network will ever need about the past. when the text is \
long, the early parts fade, because each update writes over a little of what was there \
before. the lstm and the gru add gates that decide what to keep and what to forget, and \
they remember for much longer, but they still read in order and still squeeze the whole \
past into one vector.

attention takes a different road. instead of carrying the past forward, every position is \
allowed to look back at all earlier positions at once. each position asks a question, \
called the query. every position also offers a key, which says what it contains, and a \
value, which is what it will hand over if chosen. the model compares the query with every \
key, and the better the match, the larger the score. the scores are scaled, turned into \
weights that add up to one by the softmax, and the values are mixed with those weights. the \
result is a new vector for the position, built from whatever it found most useful.

a picture of those weights is called an attention map. the rows are the positions that \
ask, the columns are the positions that answer, and a bright cell means a strong look. when \
a model learns to copy a string, the map shows a clean diagonal line. when it learns to \
reverse a string, the line flips and runs the other way. when it sorts letters, the bright \
cells jump around, because each output looks for the next letter in order, wherever it sits.

before any of this can happen, text has to become numbers. the model keeps a table with \
one row for every token it knows, and each row is a vector of a few dozen numbers called an \
embedding. at the start the rows are random. during training, tokens that behave alike are \
pushed toward each other, so digits gather in one corner, vowels in another, and the month \
names line up in their own little group. a plot of the table, squashed down to two \
dimensions, shows those groups forming as the model learns.

why scale the scores before the softmax? a query and a key are long vectors, and the dot \
product of two long random vectors grows with their length. large scores make the softmax \
almost a hard choice, with one weight near one and the rest near zero, and then the \
gradients that would teach the model to look elsewhere all but vanish. dividing by the \
square root of the head size keeps the scores in a range where the softmax stays soft while \
the model is still making up its mind.

one set of queries, keys and values is called a head. a transformer uses several heads side \
by side, each with its own small projections, so one head can follow position while another \
follows meaning. their outputs are joined and mixed again by one more projection. after the \
attention comes a small feed forward network that works on each position alone. around both \
parts runs a residual path, so the input is added back to the output, and a layer norm keeps \
the numbers in a healthy range. stack a few of these blocks and you have the whole model.

attention by itself has no sense of order. if you shuffle the words, each word still finds \
the same keys, only in new places. so the model adds a positional encoding to every token \
before the first block. the original paper used waves of sine and cosine at many speeds, so \
that each position gets its own pattern and nearby positions look alike. other models learn \
a table of positions, and rotary encoding turns the query and key vectors by an angle that \
grows with position, so that the score depends on how far apart two tokens are.

a decoder model is not allowed to peek at the future. when it predicts the next character, \
the mask hides every later position, so the map is a triangle with nothing above the \
diagonal. an encoder reads the whole input at once and may look both ways. the model from \
the first transformer paper has both: an encoder reads the source sentence, and a decoder \
writes the answer while it looks back at the encoder through cross attention. in a \
translation the cross attention often forms a rough diagonal, because words tend to appear \
in the same order, and it bends where the two languages disagree.

some patterns take a while to appear. on a sequence of random tokens that is shown twice, a \
small model first guesses badly and the loss sits on a flat plateau. then, quite suddenly, \
the loss drops. two heads have learned to work together. the first looks at the previous \
token. the second searches for an earlier place where the current token appeared and copies \
the token that came after it. this pair is called an induction head, and it is one of the \
simplest circuits anyone has found inside a trained transformer.

training is the same loop for every model here. take a batch of examples, run the model, \
measure how wrong it was with the cross entropy loss, and let the optimizer move every \
weight a little in the direction that lowers the loss. the learning rate sets the size of \
that step. too small and nothing seems to happen. too large and the loss jumps around or \
even becomes not a number, and training has to stop. a short warm up at the start and a \
slow decay at the end help the steps stay sensible.

it is worth watching what a model gets wrong. a model that has learned to copy short strings \
may fail on a longer one, because it never saw those positions. a recurrent network may win \
at counting brackets or at parity, where a running total is exactly what its state is good \
at, while attention has to rebuild the count from averages. no design is best at everything, \
and the honest way to learn that is to race them on the same task and look.

when you sample from a language model, the temperature decides how bold it is. a low \
temperature picks the most likely character almost every time, and the text becomes safe \
and repetitive. a high temperature gives rare characters a chance, and the text becomes \
surprising and soon falls apart. somewhere in between, a small model trained for a minute \
on this very page will write words that look like english, and now and then a phrase that \
almost makes sense.

that is the whole idea. vectors stand for tokens, queries meet keys, weights mix values, and \
many small steps of learning shape those weights until the maps show a plan. every figure in \
this lab is a window onto one part of that plan, taken while the model is still learning.
"""
